#include "models/chat_template.h"

#include <algorithm>

#include "core/error.h"
#include "models/generate.h"

namespace fasrl::models {

std::vector<std::string> chat_special_tokens() { return {kEndOfTextToken, kImStartToken, kImEndToken}; }

std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += std::string(kImStartToken) + m.role + "\n" + m.content + kImEndToken + "\n";
  if (add_generation_prompt) out += std::string(kImStartToken) + "assistant\n";
  return out;
}

std::vector<int64_t> chat_prompt_ids(const BpeTokenizer& tok, MllmImpl& mllm, const std::vector<std::string>& present,
                                     const std::string& question) {
  std::vector<ChatMessage> messages;
  // Qwen2.5-VL's template opens with this system turn when none is given.
  if (mllm.is_qwen_vl()) messages.push_back({"system", kQwenDefaultSystemPrompt});
  messages.push_back({"user", mllm.image_prompt(present) + "\n" + question});
  return tok.encode(apply_chat_template(messages, true));
}

std::vector<int64_t> chat_completion_ids(const BpeTokenizer& tok, const std::string& text) {
  return tok.encode(text + kImEndToken);
}

std::vector<ChatCompletion> generate_chat(MllmImpl& mllm, const BpeTokenizer& tok,
                                          const std::vector<std::vector<int64_t>>& prompts, const torch::Tensor& images,
                                          const ChatSampling& sampling) {
  const int64_t im_end = tok.token_id(kImEndToken);
  if (im_end < 0) raise(ErrorKind::kConfig, "the tokenizer lacks ", kImEndToken, " (see fasrl tokenizer train)");
  SamplingOptions o;
  o.temperature = sampling.temperature;
  o.top_p = sampling.top_p;
  o.top_k = sampling.top_k;
  o.max_new_tokens = sampling.max_new_tokens;
  o.seed = sampling.seed;
  o.group_size = sampling.group_size;
  o.slots = sampling.slots;
  o.eos_id = im_end;
  o.pad_id = im_end;
  o.banned_ids = policy_banned_ids(mllm, tok);
  // Each prompt's image blocks: images[first[p], first[p + 1]).
  std::vector<int64_t> first{0};
  for (const auto& p : prompts) {
    const int64_t pads = std::count(p.begin(), p.end(), mllm.image_pad_id());
    first.push_back(first.back() + (mllm.tokens_per_image() > 0 ? pads / mllm.tokens_per_image() : 0));
  }
  const int64_t image_count = images.defined() ? images.size(0) : 0;
  if (first.back() != image_count)
    raise(ErrorKind::kInvalidArgument, "generate_chat: the prompts hold ", first.back(), " image blocks, ", image_count, " images given");
  const PromptEmbedder embed = [&](const torch::Tensor& ids, const std::vector<int64_t>& which) {
    std::vector<torch::Tensor> own;
    for (int64_t p : which) {
      const int64_t a = first[static_cast<size_t>(p)], b = first[static_cast<size_t>(p) + 1];
      if (b > a) own.push_back(images.slice(0, a, b));
    }
    return mllm.embed(ids, own.empty() ? torch::Tensor() : torch::cat(own, 0));
  };
  const Generation gen = generate(mllm.language_model(), prompts, o, nullptr, embed,
                                  [&](const torch::Tensor& ids, const torch::Tensor& pad) { return mllm.prompt_positions(ids, pad); });
  std::vector<ChatCompletion> out(gen.tokens.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ChatCompletion& c = out[i];
    c.tokens = gen.tokens[i];
    c.logprobs = gen.logprobs[i];
    c.finish = gen.finish[i];
    c.content = c.tokens;
    if (!c.content.empty() && c.content.back() == im_end) c.content.pop_back();
    c.text = tok.decode(c.content);
  }
  return out;
}

}  // namespace fasrl::models
