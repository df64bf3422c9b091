// Uses the installed pictures component: writes a heatmap and checks the file is there.
#include <attention/attention.h>
#include <attention/pictures.h>

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer_pictures FILE.png\n";
    return 2;
  }
  const auto x = torch::randn({4, 8});
  const auto out = attention::simple_attention(x);
  attention::pictures::write_attention_heatmap(argv[1], out.weights, {"a", "b", "c", "d"}, {"a", "b", "c", "d"});
  if (!std::filesystem::exists(argv[1]) || std::filesystem::file_size(argv[1]) == 0) {
    std::cerr << "consumer_pictures: no picture written to " << argv[1] << "\n";
    return 1;
  }
  std::cout << "consumer_pictures: wrote " << argv[1] << "\n";
  return 0;
}
