// Prints, as JSON, the text of fasrl's Qwen2.5-VL chat prompt (RGB and depth
// images, a question) and of an SFT sequence (prompt + response), decoded
// from the token ids, for test_qwen_chat_template.py to compare with
// Qwen2.5-VL's own Jinja chat template.
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/chat_template.h"

using namespace fasrl;

int dump_qwen_chat_main(int argc, char** argv) {
  if (argc != 2) return 2;
  const models::BpeTokenizer tok = models::BpeTokenizer::load(argv[1]);
  proto::MllmConfig c;
  c.set_architecture(models::kQwenVlArchitecture);
  c.set_tokenizer(argv[1]);
  c.mutable_vision()->set_image_size(32);
  auto* q = c.mutable_qwen();
  q->set_image_token_id(tok.token_id(models::kImagePadToken));
  q->set_vision_start_token_id(tok.token_id(models::kVisionStartToken));
  q->set_vision_end_token_id(tok.token_id(models::kVisionEndToken));
  auto* v = q->mutable_vision_config();
  v->set_depth(1), v->set_hidden_size(16), v->set_intermediate_size(16), v->set_num_heads(1), v->set_out_hidden_size(16);
  v->set_patch_size(4), v->set_window_size(16);
  auto* d = q->mutable_text_config();
  d->set_vocab_size(768), d->set_hidden_size(16), d->set_intermediate_size(16), d->set_num_hidden_layers(1);
  d->set_num_attention_heads(2), d->set_num_key_value_heads(1);
  for (int s : {1, 1, 2}) d->mutable_rope_scaling()->add_mrope_section(s);
  auto* ip = c.mutable_image_processor();
  ip->set_patch_size(4), ip->set_min_pixels(256);
  models::Mllm mllm = models::make_mllm(c, tok, {"rgb", "depth", "ir"});
  const std::string question = "Is the face live or an attack?", response = "<think>flat depth</think><answer>attack</answer>";
  std::vector<int64_t> prompt = models::chat_prompt_ids(tok, *mllm, {"rgb", "depth"}, question);
  std::vector<int64_t> sequence = prompt;
  for (int64_t id : models::chat_completion_ids(tok, response)) sequence.push_back(id);
  std::cout << nlohmann::json{{"prompt", tok.decode(prompt)},
                              {"sequence", tok.decode(sequence)},
                              {"question", question},
                              {"response", response},
                              {"tokens_per_image", mllm->tokens_per_image()}}
                   .dump()
            << "\n";
  return 0;
}
