// The unpickler of unpickler.h: one opcode table and the stack machine that runs it, kept in one file (about 480
// lines) because the opcodes share the machine's state and read as one list.
//
// Why not LibTorch's torch::pickle_load: in LibTorch 1.10-1.13 it fails on the collections.OrderedDict that
// torch.save(model.state_dict()) writes ("Expected GenericDict but got None"; seen with Debian 12's 1.13.1,
// pytorch/pytorch#100741), and its unpickler has crashed under fuzzing (pytorch/pytorch#77573, #109791), while
// weight files come from strangers. Re-check with LibTorch 2.6, which Debian 13 ships: once torch::pickle_load
// reads OrderedDict state_dicts and survives fuzzing (tests/fuzz/fuzz_torch_save, pointed at it), use it instead.
#include "unpickler.h"

#include <c10/util/safe_numerics.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace attention::detail {
namespace {

// clang-format off
// The opcodes of CPython's Lib/pickle.py that torch.save writes for a state_dict (protocol 2).
enum class Op : uint8_t {
  Proto = 0x80, Stop = '.', Mark = '(', Global = 'c', BinPersId = 'Q', Reduce = 'R', Build = 'b',
  EmptyDict = '}', SetItem = 's', SetItems = 'u', EmptyList = ']', Append = 'a', Appends = 'e',
  EmptyTuple = ')', Tuple = 't', Tuple1 = 0x85, Tuple2 = 0x86, Tuple3 = 0x87,
  BinInt = 'J', BinInt1 = 'K', BinInt2 = 'M', Long1 = 0x8a, BinFloat = 'G', BinUnicode = 'X',
  None = 'N', NewTrue = 0x88, NewFalse = 0x89,
  BinPut = 'q', LongBinPut = 'r', BinGet = 'h', LongBinGet = 'j',
};

// Every opcode of pickle protocols 0-5 by name, for messages (the unsupported ones too).
const char* opcode_name(uint8_t code) {
  static const std::unordered_map<uint8_t, const char*> names = {
      {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"},
      {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
      {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"},
      {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"},
      {'c', "GLOBAL"}, {'d', "DICT"}, {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"},
      {'i', "INST"}, {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
      {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"},
      {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
      {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"},
      {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
      {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
  const auto found = names.find(code);
  return found == names.end() ? "an unknown opcode" : found->second;
}
// clang-format on

// The callables a state_dict's pickle names with GLOBAL.
enum class Callable { OrderedDict, RebuildTensor, RebuildParameter, StorageType };

// Storage classes by their name in module `torch`.
const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat},       {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},       {"CharStorage", torch::kChar},     {"ByteStorage", torch::kByte},
      {"BoolStorage", torch::kBool}};
  return types;
}

// A Python object of the pickle. Containers hold shared references, as Python's do (the memo shares them).
struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Callable, Storage, Tensor };
  explicit Object(Kind kind_) : kind(kind_) {}

  Kind kind;
  int64_t integer = 0;                        // Bool, Int
  double real = 0;                            // Float
  std::string text;                           // String; Callable: "module.name"
  std::vector<Ref> items;                     // Tuple, List; Dict: key, value, key, value, ...
  Callable callable = Callable::OrderedDict;  // Callable
  torch::ScalarType dtype = torch::kFloat;    // Callable (StorageType), Storage
  torch::Tensor tensor;                       // Storage (1-D), Tensor
  // Nesting depth, bounded: destroying nested objects recurses. Exact, because a container that has been
  // put into another is never changed afterwards (`contained`).
  int depth = 1;
  bool contained = false;
};

// The kind with its article, for messages: "an int".
const char* kind_name(Object::Kind kind) {
  static const char* const names[] = {"None",   "a bool", "an int",   "a float",   "a str",   "a tuple",
                                      "a list", "a dict", "a global", "a storage", "a tensor"};
  return names[static_cast<int>(kind)];
}

constexpr int kMaxDepth = 100;

class Unpickler {
 public:
  Unpickler(const std::string& pickle, const StorageLoader& load_storage, const std::string& where)
      : pickle_(pickle), load_storage_(load_storage), where_(where) {}

  // Runs the pickle to its STOP and returns the object it built.
  Ref run() {
    while (true) {
      TORCH_CHECK(pos_ < pickle_.size(), where_, ": data.pkl: the pickle ends without STOP (truncated?)");
      op_pos_ = pos_;
      op_ = static_cast<uint8_t>(pickle_[pos_++]);
      if (static_cast<Op>(op_) == Op::Stop) {
        check(pos_ == pickle_.size(), pickle_.size() - pos_, " bytes follow STOP");
        auto result = pop();
        check(stack_.empty() && marks_.empty(), "objects are left on the stack at STOP");
        return result;
      }
      step();
    }
  }

 private:
  // Throws c10::Error naming the file, the problem, the opcode and its offset.
  template <typename... Args>
  [[noreturn]] void fail(const Args&... args) const {
    C10_THROW_ERROR(Error,
                    c10::str(where_, ": data.pkl: ", args..., " (", opcode_name(op_), " at byte ", op_pos_, ")"));
  }

  template <typename... Args>
  void check(bool ok, const Args&... args) const {
    if (!ok) {
      fail(args...);
    }
  }

  void step() {
    switch (static_cast<Op>(op_)) {
      case Op::Proto: {
        const auto version = read_uint(1);
        check(version == 2, "pickle protocol ", version,
              " is not read here; torch.save writes protocol 2 (its default pickle_protocol)");
        return;
      }
      case Op::Mark:
        marks_.push_back(stack_.size());
        return;
      case Op::Global: {
        const auto module = read_line();
        const auto name = read_line();
        return push(global(module, name));
      }
      case Op::BinPersId:
        return push(persistent(pop()));
      case Op::Reduce: {
        const auto args = pop();
        const auto callable = pop();
        return push(reduce(*callable, *args));
      }
      case Op::Build: {
        const auto state = pop();
        // BUILD sets the attributes of a dict: state_dict()'s `_metadata` (versions of the modules), not needed.
        check(top()->kind == Object::Kind::Dict && state->kind == Object::Kind::Dict, "sets attributes of ",
              kind_name(top()->kind), " from ", kind_name(state->kind),
              "; only a state_dict's OrderedDict has attributes here");
        return;
      }
      case Op::EmptyDict:
        return push(std::make_shared<Object>(Object::Kind::Dict));
      case Op::EmptyList:
        return push(std::make_shared<Object>(Object::Kind::List));
      case Op::SetItem: {
        auto value = pop();
        auto key = pop();
        return add_to(Object::Kind::Dict, {std::move(key), std::move(value)});
      }
      case Op::SetItems: {
        auto items = pop_mark();
        check(items.size() % 2 == 0, "an odd number of keys and values (", items.size(), ")");
        return add_to(Object::Kind::Dict, std::move(items));
      }
      case Op::Append:
        return add_to(Object::Kind::List, {pop()});
      case Op::Appends:
        return add_to(Object::Kind::List, pop_mark());
      case Op::EmptyTuple:
        return push(make_tuple({}));
      case Op::Tuple:
        return push(make_tuple(pop_mark()));
      case Op::Tuple1:
      case Op::Tuple2:
      case Op::Tuple3: {
        std::vector<Ref> items(op_ - static_cast<uint8_t>(Op::Tuple1) + 1);
        for (auto item = items.rbegin(); item != items.rend(); ++item) {
          *item = pop();
        }
        return push(make_tuple(std::move(items)));
      }
      case Op::BinInt:
        return push_int(static_cast<int32_t>(static_cast<uint32_t>(read_uint(4))));
      case Op::BinInt1:
        return push_int(static_cast<int64_t>(read_uint(1)));
      case Op::BinInt2:
        return push_int(static_cast<int64_t>(read_uint(2)));
      case Op::Long1: {
        const auto size = read_uint(1);
        check(size <= 8, "an integer of ", size, " bytes (at most 8 are read)");
        auto value = read_uint(static_cast<int>(size));
        if (size > 0 && size < 8 && (value >> (8 * size - 1)) != 0) {  // negative: sign-extend
          value |= ~uint64_t{0} << (8 * size);
        }
        return push_int(static_cast<int64_t>(value));
      }
      case Op::BinFloat: {
        uint64_t bits = 0;  // big-endian IEEE 754 double
        for (int i = 0; i < 8; ++i) {
          bits = (bits << 8) | read_uint(1);
        }
        auto object = std::make_shared<Object>(Object::Kind::Float);
        std::memcpy(&object->real, &bits, sizeof bits);
        return push(std::move(object));
      }
      case Op::BinUnicode: {
        auto object = std::make_shared<Object>(Object::Kind::String);
        object->text = read_bytes(read_uint(4));
        return push(std::move(object));
      }
      case Op::None:
        return push(std::make_shared<Object>(Object::Kind::None));
      case Op::NewTrue:
      case Op::NewFalse: {
        auto object = std::make_shared<Object>(Object::Kind::Bool);
        object->integer = static_cast<Op>(op_) == Op::NewTrue;
        return push(std::move(object));
      }
      case Op::BinPut:
        memo_[static_cast<uint32_t>(read_uint(1))] = top();
        return;
      case Op::LongBinPut:
        memo_[static_cast<uint32_t>(read_uint(4))] = top();
        return;
      case Op::BinGet:
      case Op::LongBinGet: {
        const auto index = read_uint(static_cast<Op>(op_) == Op::BinGet ? 1 : 4);
        const auto found = memo_.find(static_cast<uint32_t>(index));
        check(found != memo_.end(), "memo entry ", index, " was never stored");
        return push(found->second);
      }
      case Op::Stop:
        break;  // handled by run()
    }
    const char* digits = "0123456789abcdef";
    fail("unsupported pickle opcode 0x", digits[op_ >> 4], digits[op_ & 15],
         "; a torch.save state_dict (pickle protocol 2) does not use it");
  }

  // ------------------------------------------------------------------------------------------- reading bytes

  uint64_t read_uint(int size) {  // little-endian
    check(pickle_.size() - pos_ >= static_cast<size_t>(size), "the pickle ends inside its argument (truncated?)");
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(pickle_[pos_ + i])) << (8 * i);
    }
    pos_ += size;
    return value;
  }

  std::string read_bytes(uint64_t size) {
    check(pickle_.size() - pos_ >= size, "a string of ", size, " bytes but only ", pickle_.size() - pos_,
          " are left (truncated?)");
    auto text = pickle_.substr(pos_, size);
    pos_ += size;
    return text;
  }

  std::string read_line() {
    const auto end = pickle_.find('\n', pos_);
    check(end != std::string::npos, "a name without its end of line (truncated?)");
    auto line = pickle_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  // ---------------------------------------------------------------------------------------------- the stack

  void push(Ref object) { stack_.push_back(std::move(object)); }

  void push_int(int64_t value) {
    auto object = std::make_shared<Object>(Object::Kind::Int);
    object->integer = value;
    push(std::move(object));
  }

  const Ref& top() const {
    check(stack_.size() > (marks_.empty() ? 0 : marks_.back()), "the stack is empty");
    return stack_.back();
  }

  Ref pop() {
    auto object = top();
    stack_.pop_back();
    return object;
  }

  // The objects pushed since the last MARK, which is removed.
  std::vector<Ref> pop_mark() {
    check(!marks_.empty(), "no MARK to pop to");
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  // Records that `items` now live inside `container`, whose depth grows to hold them.
  void adopt(Object& container, const std::vector<Ref>& items) const {
    for (const auto& item : items) {
      item->contained = true;
      container.depth = std::max(container.depth, item->depth + 1);
    }
    check(container.depth <= kMaxDepth, "objects nested more than ", kMaxDepth, " deep");
  }

  Ref make_tuple(std::vector<Ref> items) const {
    auto tuple = std::make_shared<Object>(Object::Kind::Tuple);
    adopt(*tuple, items);
    tuple->items = std::move(items);
    return tuple;
  }

  // SETITEM(S) and APPEND(S): adds `items` to the dict or list on top of the stack.
  void add_to(Object::Kind kind, std::vector<Ref> items) {
    auto& container = *top();
    check(container.kind == kind, "adds items to ", kind_name(container.kind), ", not to ", kind_name(kind));
    check(!container.contained, "changes ", kind_name(kind), " that is already inside another object");
    adopt(container, items);
    container.items.insert(container.items.end(), items.begin(), items.end());
  }

  // -------------------------------------------------------------------------------------------- the objects

  Ref global(const std::string& module, const std::string& name) const {
    auto object = std::make_shared<Object>(Object::Kind::Callable);
    object->text = module + "." + name;
    if (module == "collections" && name == "OrderedDict") {
      object->callable = Callable::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      object->callable = Callable::RebuildTensor;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      object->callable = Callable::RebuildParameter;
    } else if (module == "torch" && storage_types().count(name) != 0) {
      object->callable = Callable::StorageType;
      object->dtype = storage_types().at(name);
    } else {
      fail("unsupported global '", object->text,
           "': a state_dict holds only tensors (collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
           "torch.<dtype>Storage); save model.state_dict(), not the model");
    }
    return object;
  }

  // Throws unless `object` is of `kind`; `what` names it in the message.
  const Object& expect(const Ref& object, Object::Kind kind, const char* what) const {
    check(object->kind == kind, what, " must be ", kind_name(kind), ", not ", kind_name(object->kind));
    return *object;
  }

  int64_t expect_count(const Ref& object, const char* what) const {
    const auto value = expect(object, Object::Kind::Int, what).integer;
    check(value >= 0, what, " must not be negative, got ", value);
    return value;
  }

  // A persistent id ('storage', torch.<dtype>Storage, key, location, numel) → the storage, loaded once per key.
  Ref persistent(const Ref& id) {
    const auto& tuple = expect(id, Object::Kind::Tuple, "a persistent id");
    check(tuple.items.size() == 5, "a persistent id of ", tuple.items.size(),
          " items; torch.save's are ('storage', type, key, location, numel)");
    check(expect(tuple.items[0], Object::Kind::String, "a persistent id's tag").text == "storage",
          "a persistent id tagged '", tuple.items[0]->text, "', not 'storage'");
    const auto& type = expect(tuple.items[1], Object::Kind::Callable, "a storage's type");
    check(type.callable == Callable::StorageType, "a storage of type ", type.text);
    const auto& key = expect(tuple.items[2], Object::Kind::String, "a storage's key").text;
    expect(tuple.items[3], Object::Kind::String, "a storage's location");  // "cpu", "cuda:0": read to the CPU
    const auto numel = expect_count(tuple.items[4], "a storage's size");
    auto& storage = storages_[key];
    if (!storage) {
      storage = std::make_shared<Object>(Object::Kind::Storage);
      storage->dtype = type.dtype;
      storage->tensor = load_storage_(key, type.dtype, numel);
    }
    check(storage->dtype == type.dtype && storage->tensor.numel() == numel, "storage '", key,
          "' is used with two types or sizes");
    return storage;
  }

  std::vector<int64_t> counts(const Ref& object, const char* what) const {
    const auto& tuple = expect(object, Object::Kind::Tuple, what);
    std::vector<int64_t> values;
    for (const auto& item : tuple.items) {
      values.push_back(expect_count(item, what));
    }
    return values;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
  Ref rebuild_tensor(const std::vector<Ref>& args) const {
    check(args.size() == 6 || args.size() == 7, "_rebuild_tensor_v2 with ", args.size(), " arguments (6 or 7)");
    const auto& storage = expect(args[0], Object::Kind::Storage, "a tensor's storage").tensor;
    const auto offset = expect_count(args[1], "a tensor's storage offset");
    const auto size = counts(args[2], "a tensor's size");
    const auto stride = counts(args[3], "a tensor's stride");
    expect(args[4], Object::Kind::Bool, "requires_grad");
    check(expect(args[5], Object::Kind::Dict, "backward_hooks").items.empty(), "a tensor with backward hooks");
    check(size.size() == stride.size(), "a tensor of ", size.size(), " sizes but ", stride.size(), " strides");
    // Every element must lie in the storage: offset + sum((size_i - 1) * stride_i) < numel, without overflow.
    uint64_t numel = 1, last = static_cast<uint64_t>(offset), term = 0;
    bool overflow = false;
    for (size_t i = 0; i < size.size(); ++i) {
      overflow |= c10::mul_overflows(numel, static_cast<uint64_t>(size[i]), &numel);
      if (size[i] > 0) {
        overflow |= c10::mul_overflows(static_cast<uint64_t>(size[i] - 1), static_cast<uint64_t>(stride[i]), &term);
        overflow |= c10::add_overflows(last, term, &last);
      }
    }
    const auto available = static_cast<uint64_t>(storage.numel());
    check(!overflow && numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
              static_cast<uint64_t>(offset) <= available && (numel == 0 || last < available),
          "a tensor of size ", torch::IntArrayRef(size), ", stride ", torch::IntArrayRef(stride), " and offset ",
          offset, " reaches beyond its storage of ", available, " elements");
    auto tensor = std::make_shared<Object>(Object::Kind::Tensor);
    tensor->tensor = storage.as_strided(size, stride, offset);
    return tensor;
  }

  Ref reduce(const Object& callable, const Object& args) const {
    check(callable.kind == Object::Kind::Callable, "calls ", kind_name(callable.kind));
    check(args.kind == Object::Kind::Tuple, "calls ", callable.text, " with ", kind_name(args.kind), " of arguments");
    switch (callable.callable) {
      case Callable::OrderedDict:
        check(args.items.empty(), "collections.OrderedDict called with arguments");
        return std::make_shared<Object>(Object::Kind::Dict);
      case Callable::RebuildTensor:
        return rebuild_tensor(args.items);
      case Callable::RebuildParameter:  // _rebuild_parameter(data, requires_grad, backward_hooks)
        check(args.items.size() == 3, "_rebuild_parameter with ", args.items.size(), " arguments (3)");
        expect(args.items[0], Object::Kind::Tensor, "a parameter's data");
        return args.items[0];
      case Callable::StorageType:
        break;
    }
    fail("calls ", callable.text, "; storages come only as persistent ids");
  }

  const std::string& pickle_;
  const StorageLoader& load_storage_;
  const std::string& where_;
  size_t pos_ = 0;     // next byte
  size_t op_pos_ = 0;  // the current opcode's byte
  uint8_t op_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  std::unordered_map<uint32_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

}  // namespace

torch::OrderedDict<std::string, torch::Tensor> unpickle_state_dict(const std::string& pickle,
                                                                   const StorageLoader& load_storage,
                                                                   const std::string& where) {
  const auto result = Unpickler(pickle, load_storage, where).run();
  TORCH_CHECK(result->kind == Object::Kind::Dict, where, ": holds ", kind_name(result->kind),
              ", not a state_dict (a dict of tensors)");
  torch::OrderedDict<std::string, torch::Tensor> tensors;
  for (size_t i = 0; i < result->items.size(); i += 2) {
    const auto& key = *result->items[i];
    const auto& value = *result->items[i + 1];
    TORCH_CHECK(key.kind == Object::Kind::String, where, ": a state_dict key is ", kind_name(key.kind), ", not a str");
    TORCH_CHECK(value.kind == Object::Kind::Tensor, where, ": '", key.text, "' is ", kind_name(value.kind),
                ", not a tensor");
    TORCH_CHECK(!tensors.contains(key.text), where, ": key '", key.text, "' appears twice");
    tensors.insert(key.text, value.tensor);
  }
  return tensors;
}

}  // namespace attention::detail
