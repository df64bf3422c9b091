#pragma once
/// \file
/// Weights trained in Python: a PyTorch `state_dict()` saved with `torch.save`, or a safetensors file, loaded
/// into MultiHeadAttention, SelfAttention or ScaledDotProductAttention.
///
/// FILES. The format is told from the content, not the extension:
///   * a **torch.save** zip archive (PyTorch >= 1.6, starts with "PK"): `<name>/data.pkl` (pickle protocol 2),
///     `<name>/data/<key>` (one record per storage), `<name>/version`. Only what a state_dict holds is read:
///     a dict or `collections.OrderedDict` (its `_metadata` is ignored) of tensors. Anything else — a whole
///     pickled model, other Python objects, another pickle protocol, the legacy pre-zip format — is refused,
///     naming the opcode or global. Nothing is executed.
///   * a **safetensors** file: an 8-byte little-endian header length, a JSON header
///     `{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`, then the raw data.
/// DTYPES read: float32, float64, float16, bfloat16 and int64, int32, int16, int8, uint8, bool (safetensors F32,
/// F64, F16, BF16, I64, I32, I16, I8, U8, BOOL; torch.FloatStorage ... torch.BoolStorage). Refused: unsigned
/// 16/32/64-bit, float8 and complex. Data is little-endian; a big-endian host is refused.
/// ERRORS are c10::Error naming the file and the problem (key, shapes, offset); a truncated or corrupt file
/// throws, it never crashes.

#include <attention/export.h>
#include <attention/multi_head_attention.h>
#include <attention/scaled_dot_product_attention.h>

#include <torch/ordered_dict.h>
#include <torch/types.h>

#include <string>

namespace attention {

/// The tensors of the weight file at `path` (torch.save zip or safetensors), by name in the file's order, on
/// the CPU, in the file's dtype. Tensors of a torch.save file that shared a storage (views) still share it.
///
/// Example:
///   for (const auto& item : attention::read_state_dict("mha.safetensors")) {
///     std::cout << item.key() << " " << item.value().sizes() << "\n";  // in_proj_weight [24, 8] ...
///   }
ATTENTION_API torch::OrderedDict<std::string, torch::Tensor> read_state_dict(const std::string& path);

/// Loads the weights of the file at `path` (see read_state_dict) into `module`, strictly, as PyTorch's
/// `load_state_dict` does by default: every parameter must be in the file with its exact shape, and the file
/// must hold nothing else. The file is read and checked in full before anything is copied, so a refused load
/// leaves the module unchanged. Floating-point tensors of any dtype (float16, bfloat16, float64, ...) are
/// converted to the dtype and moved to the device of the module's parameters; integer tensors are refused.
///
/// Names accepted for MultiHeadAttention and SelfAttention:
///   * the module's own: `W_q.weight`, `W_q.bias`, `W_k.*`, `W_v.*`, `W_o.weight`, `W_o.bias` (as
///     `named_parameters()`; the biases only when the module has `bias`);
///   * `torch.nn.MultiheadAttention`'s: `in_proj_weight` `[3E, E]` and `in_proj_bias` `[3E]`, split row-wise
///     into W_q, W_k, W_v by the sizes of the module's own W_q, W_k, W_v outputs; or `q_proj_weight` `[E, E]`,
///     `k_proj_weight` `[E, kdim]`, `v_proj_weight` `[E, vdim]` (PyTorch's layout when kdim or vdim differs
///     from E); `out_proj.weight`, `out_proj.bias` for W_o. A file with `bias_k`/`bias_v` (PyTorch's
///     `add_bias_kv=True`) is refused: this library has no counterpart.
/// Mask conventions differ: in this library a bool mask is true where a query MAY attend, the opposite of
/// `torch.nn.MultiheadAttention`'s `attn_mask` (convert with `logical_not()`; a causal mask: `causal(true)`).
///
/// Throws c10::Error naming the file and: the missing and the unexpected keys, or a parameter with both its
/// shapes, or what is wrong with the file.
///
/// Example (Python: `torch.save(nn.MultiheadAttention(64, 8, batch_first=True).state_dict(), "mha.pt")`):
///   attention::MultiHeadAttention mha(attention::MultiHeadAttentionOptions(64, 8));
///   attention::load_state_dict(mha, "mha.pt");  // then mha(q, k, v).context == Python's mha(q, k, v)[0]
ATTENTION_API void load_state_dict(MultiHeadAttention& module, const std::string& path);

/// As above, into a SelfAttention: the same names, as a MultiHeadAttention whose query, key and value are one.
ATTENTION_API void load_state_dict(SelfAttention& module, const std::string& path);

/// As above, into a ScaledDotProductAttention: its own names only, `W_q.weight` `[d_out, d_in]`, `W_k.weight`,
/// `W_v.weight` (and `W_q.bias` ... when it has `bias`).
ATTENTION_API void load_state_dict(ScaledDotProductAttention& module, const std::string& path);

}  // namespace attention
