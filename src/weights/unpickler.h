#pragma once
// A strict unpickler for the data.pkl of a torch.save archive that holds a state_dict. Internal, not installed.

#include <c10/util/Exception.h>  // before torch/ordered_dict.h, which uses TORCH_CHECK without including it
#include <torch/ordered_dict.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

namespace attention::detail {

/// Returns storage `key` of the archive (its record data/<key>) as a 1-D tensor of `numel` elements of `dtype`.
using StorageLoader = std::function<torch::Tensor(const std::string& key, torch::ScalarType dtype, int64_t numel)>;

/// The tensors of the dict (collections.OrderedDict or dict, string keys) that `pickle` holds, in its order.
///
/// Reads only what torch.save writes for a state_dict with pickle protocol 2: the opcodes PROTO, STOP, MARK,
/// GLOBAL, BINPERSID, REDUCE, BUILD, EMPTY_DICT/SETITEM/SETITEMS, EMPTY_LIST/APPEND/APPENDS,
/// EMPTY_TUPLE/TUPLE/TUPLE1-3, BININT/BININT1/BININT2/LONG1, BINFLOAT, BINUNICODE, NONE/NEWTRUE/NEWFALSE,
/// BINPUT/LONG_BINPUT/BINGET/LONG_BINGET; the globals collections.OrderedDict,
/// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.<Float|Double|Half|BFloat16|Long|
/// Int|Short|Char|Byte|Bool>Storage; persistent ids ('storage', type, key, location, numel). The dict's
/// attributes (state_dict()'s `_metadata`, set by BUILD) are read and ignored. Anything else throws c10::Error
/// naming `where`, the opcode or global and its byte offset. Tensors are on the CPU, views share storages.
torch::OrderedDict<std::string, torch::Tensor> unpickle_state_dict(const std::string& pickle,
                                                                   const StorageLoader& load_storage,
                                                                   const std::string& where);

}  // namespace attention::detail
