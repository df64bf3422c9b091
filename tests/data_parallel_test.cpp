// The shares of a batch that data-parallel ranks train on (apps/training/data_parallel.h), and the weights that make
// the mean of their losses the batch's.
#include "training/data_parallel.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace attention::app {
namespace {

/// Rank `rank` of `size`, for its arithmetic alone: it exchanges nothing.
class Rank final : public DataParallel {
 public:
  Rank(int64_t rank, int64_t size) : rank_(rank), size_(size) {}
  int64_t rank() const override { return rank_; }
  int64_t size() const override { return size_; }
  double mean(double value) override { return value; }
  bool any(bool flag) override { return flag; }
  void broadcast(const std::vector<torch::Tensor>&) override {}
  std::unique_ptr<GradientSync> average_gradients(const std::vector<torch::Tensor>&) override { return nullptr; }

 private:
  int64_t rank_;
  int64_t size_;
};

TEST(DataParallel, TheSharesCoverABatchInOrder) {
  for (int64_t size = 1; size <= 4; ++size) {
    for (int64_t rows = 1; rows <= 9; ++rows) {
      int64_t next = 0;
      double weights = 0;
      for (int64_t rank = 0; rank < size; ++rank) {
        const auto share = Rank(rank, size).share_of(rows);
        EXPECT_EQ(share.begin, next) << "rank " << rank << " of " << size << ", " << rows << " rows";
        EXPECT_GE(share.count(), rows / size);
        EXPECT_LE(share.count(), rows / size + 1);
        next = share.end;
        // The mean over the ranks of weight x (the share's mean loss) is the batch's mean loss, for losses of 1.
        weights += Rank(rank, size).loss_weight(rows);
      }
      EXPECT_EQ(next, rows);
      EXPECT_DOUBLE_EQ(weights / static_cast<double>(size), 1.0) << size << " ranks, " << rows << " rows";
    }
  }
}

TEST(DataParallel, EqualSharesWeighOne) {
  EXPECT_EQ(Rank(1, 4).share_of(32).begin, 8);
  EXPECT_EQ(Rank(1, 4).share_of(32).end, 16);
  EXPECT_EQ(Rank(1, 4).loss_weight(32), 1.0);
  // 5 rows over 2 ranks: 2 and 3, weighted 2·2/5 and 2·3/5.
  EXPECT_EQ(Rank(0, 2).share_of(5).count(), 2);
  EXPECT_DOUBLE_EQ(Rank(0, 2).loss_weight(5), 0.8);
  EXPECT_DOUBLE_EQ(Rank(1, 2).loss_weight(5), 1.2);
  // 1 row over 2 ranks: rank 0 has none.
  EXPECT_EQ(Rank(0, 2).share_of(1).count(), 0);
  EXPECT_EQ(Rank(0, 2).loss_weight(1), 0.0);
}

TEST(DataParallel, ASingleProcessHasEveryRow) {
  auto& alone = single_process();
  EXPECT_EQ(alone.rank(), 0);
  EXPECT_EQ(alone.size(), 1);
  EXPECT_TRUE(alone.is_first());
  EXPECT_EQ(alone.share_of(7).begin, 0);
  EXPECT_EQ(alone.share_of(7).end, 7);
  EXPECT_EQ(alone.mean(2.5), 2.5);
  EXPECT_TRUE(alone.any(true));
}

}  // namespace
}  // namespace attention::app
