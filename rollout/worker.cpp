#include "rollout/worker.h"

#include <glog/logging.h>

#include "comm/role_protocol.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/modality_selection.h"
#include "models/chat_template.h"
#include "models/mllm.h"
#include "proto/rollout.pb.h"
#include "reasoning/qa_items.h"
#include "reasoning/rewards.h"
#include "rollout/advantages.h"
#include "rollout/prompt_stream.h"
#include "rollout/reward_shaping.h"
#include "rollout/weight_inbox.h"

namespace fasrl::rollout {
namespace {

// uint8 H x W x C pixels of one loader image [C, S, S] in [0,1].
proto::RolloutImage to_proto_image(const std::string& modality, const torch::Tensor& chw) {
  const torch::Tensor hwc = chw.mul(255).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  proto::RolloutImage img;
  img.set_modality(modality);
  img.set_channels(static_cast<int>(chw.size(0)));
  img.set_height(static_cast<int>(chw.size(1)));
  img.set_width(static_cast<int>(chw.size(2)));
  img.set_pixels(std::string(reinterpret_cast<const char*>(hwc.data_ptr<uint8_t>()), static_cast<size_t>(hwc.numel())));
  return img;
}

// One prompt of a step: the sample's QA item (chosen by a seed from the run,
// the sample and the step), its true fine and binary labels, its prompt ids and images.
struct Prompt {
  reasoning::QaItem item;
  std::string fine_label;
  int binary = 0;  // index into the manifest's binary labels
  std::vector<int64_t> ids;
  torch::Tensor images;  // [k, 3, S, S] of its present modalities, or undefined
};

std::vector<Prompt> make_prompts(const data::Batch& batch, const RolloutJob& job, const data::Manifest& manifest,
                                 models::MllmBundle& bundle, int64_t step, proto::RolloutBatch& out) {
  const proto::GrpoConfig& g = job.grpo;
  const models::MllmImages in = models::mllm_images(batch.images, batch.modality_mask, batch.modalities);
  std::vector<Prompt> prompts;
  int64_t offset = 0;
  for (int64_t i = 0; i < batch.size(); ++i) {
    const size_t r = static_cast<size_t>(i);
    auto items = reasoning::qa_from_json(batch.text.at(job.qa.field())[r], batch.sample_ids[r]);
    if (g.kinds_size() > 0)
      items.erase(std::remove_if(items.begin(), items.end(), [&](const reasoning::QaItem& it) {
                    return std::find(g.kinds().begin(), g.kinds().end(), it.kind) == g.kinds().end();
                  }), items.end());
    if (items.empty()) raise(ErrorKind::kConfig, "grpo.kinds: sample ", batch.sample_ids[r], " has no item of those kinds");
    Rng rng(derive_seed(job.run.seed(), fnv1a64(batch.sample_ids[r]), static_cast<uint64_t>(step)));
    Prompt p;
    p.item = items[rng.below(items.size())];
    p.fine_label = manifest.fine_labels.at(static_cast<size_t>(batch.fine[i].item<int64_t>()));
    p.binary = static_cast<int>(batch.binary[i].item<int64_t>());
    const auto& present = in.present[r];
    p.ids = models::chat_prompt_ids(bundle.tokenizer, *bundle.model, present, p.item.question);
    const int64_t k = static_cast<int64_t>(present.size());
    if (k) p.images = in.images.slice(0, offset, offset + k);
    offset += k;

    proto::RolloutGroup* group = out.add_groups();
    group->set_sample_id(batch.sample_ids[r]);
    group->set_kind(p.item.kind);
    for (int64_t id : p.ids) group->add_prompt_ids(id);
    for (size_t m = 0, q = 0; m < batch.modalities.size(); ++m)
      if (batch.modality_mask[i][static_cast<int64_t>(m)].item<int>())
        *group->add_images() = to_proto_image(present[q++], batch.images[m][i]);
    prompts.push_back(std::move(p));
  }
  return prompts;
}

// G completions of every prompt, prompt-major: completion q belongs to prompt q / G.
// Each prompt is prefilled once for its G samples (models/generate.h).
std::vector<models::ChatCompletion> sample_groups(const std::vector<Prompt>& prompts, models::MllmBundle& bundle,
                                                  const proto::GrpoConfig& g, uint64_t seed) {
  std::vector<std::vector<int64_t>> ids;
  std::vector<torch::Tensor> images;
  for (const Prompt& p : prompts) {
    ids.push_back(p.ids);
    if (p.images.defined()) images.push_back(p.images);
  }
  models::ChatSampling s;
  s.temperature = g.temperature();
  s.top_p = g.top_p();
  s.top_k = g.top_k();
  s.max_new_tokens = g.max_new_tokens();
  s.seed = seed;
  s.group_size = g.group_size();
  s.slots = g.rollout_slots();
  return models::generate_chat(*bundle.model, bundle.tokenizer, ids, images.empty() ? torch::Tensor() : torch::cat(images, 0), s);
}

// Rewards (with the overlong penalty), group advantages and the completions, into `out`'s groups.
void score_groups(const std::vector<Prompt>& prompts, const std::vector<models::ChatCompletion>& completions,
                  const reasoning::KnowledgeGraph& kg, const proto::GrpoConfig& g, proto::RolloutBatch& out) {
  const size_t group_size = static_cast<size_t>(g.group_size());
  const int first_group = out.groups_size() - static_cast<int>(prompts.size());
  std::vector<reasoning::Reward> rewards;
  std::vector<double> totals, overlong;
  for (size_t q = 0; q < completions.size(); ++q) {
    const Prompt& p = prompts[q / group_size];
    rewards.push_back(reasoning::score_response(completions[q].text, p.item, p.fine_label, kg, g.reward()));
    overlong.push_back(overlong_penalty(static_cast<int64_t>(completions[q].tokens.size()), g.max_new_tokens(),
                                        g.overlong_buffer_length(), g.overlong_penalty_factor()));
    totals.push_back(rewards.back().total + overlong.back());
  }
  auto advantages = group_advantages(totals, g.group_size(), g.scale_rewards(), g.advantage_eps());
  if (g.balance_classes()) {
    std::vector<int> classes;
    for (const Prompt& p : prompts) classes.push_back(p.binary);
    const std::vector<double> weight = class_balance_weights(classes);
    for (size_t q = 0; q < advantages.size(); ++q) advantages[q] *= weight[q / group_size];
  }
  for (size_t q = 0; q < completions.size(); ++q) {
    proto::RolloutCompletion* c = out.mutable_groups(first_group + static_cast<int>(q / group_size))->add_completions();
    for (int64_t t : completions[q].tokens) c->add_tokens(t);
    for (double lp : completions[q].logprobs) c->add_logprobs(static_cast<float>(lp));
    c->set_reward(static_cast<float>(totals[q]));
    c->set_advantage(static_cast<float>(advantages[q]));
    (*c->mutable_reward_terms())["format"] = static_cast<float>(rewards[q].format);
    (*c->mutable_reward_terms())["accuracy"] = static_cast<float>(rewards[q].accuracy);
    (*c->mutable_reward_terms())["kg"] = static_cast<float>(rewards[q].kg);
    if (g.overlong_buffer_length() > 0) (*c->mutable_reward_terms())["overlong"] = static_cast<float>(overlong[q]);
    c->set_truncated(completions[q].finish == "length");
  }
}

}  // namespace

RolloutStats run_rollout_worker(const RolloutJob& job, const comm::RoleSplit& roles, MPI_Comm world) {
  const proto::GrpoConfig& g = job.grpo;
  check_rollout_options(g);
  const int index = roles.role_rank;
  std::vector<int> served;
  for (int l = 0; l < roles.num_learners; ++l)
    if (l % roles.num_rollout == index) served.push_back(l);
  torch::manual_seed(job.run.seed());
  auto dataset = std::make_shared<const data::Dataset>(job.data.dataset());
  const data::Manifest& manifest = dataset->manifest();
  models::MllmBundle bundle = models::load_mllm(job.model, data::select_modalities(manifest, job.data).names);
  bundle.model->eval();
  const reasoning::KnowledgeGraph kg = reasoning::KnowledgeGraph::load(job.qa.knowledge_graph());

  WeightInbox weights(world, bundle.model->parameters(), job.comm.timeout_s());
  weights.receive();  // the starting weights; their version is the first step to generate for
  const int64_t first_step = weights.version();
  std::unique_ptr<PromptStream> prompts;
  if (!served.empty() && !weights.stopped())
    prompts = std::make_unique<PromptStream>(dataset, job.data, job.qa.field(), job.model.vision().image_size(),
                                             g.prompts_per_batch(), index, roles.num_rollout, job.run.seed(), first_step,
                                             static_cast<int64_t>(served.size()));
  comm::RolloutSender sender(world, job.comm.timeout_s());
  RolloutStats stats;
  for (int64_t step = first_step; prompts && step < job.steps && !weights.stopped(); ++step) {
    for (size_t j = 0; j < served.size(); ++j) {
      weights.sync(step - g.max_staleness());
      if (weights.stopped()) break;
      proto::RolloutBatch out;
      out.set_policy_version(weights.version());
      out.set_worker(roles.num_learners + index);
      out.set_step(step);
      // Prompt batch `source`, sampled with `seed`, scored into `into`.
      auto generate = [&](const data::Batch& source, uint64_t seed, proto::RolloutBatch& into) {
        const std::vector<Prompt> batch = make_prompts(source, job, manifest, bundle, step, into);
        Stopwatch clock;
        const auto completions = sample_groups(batch, bundle, g, seed);
        stats.generate_seconds += clock.seconds();
        stats.samples += static_cast<int64_t>(completions.size());
        score_groups(batch, completions, kg, g, into);
      };
      const uint64_t seed = derive_seed(job.run.seed(), static_cast<uint64_t>(step), static_cast<uint64_t>(served[j]));
      generate(prompts->next(), seed, out);
      if (g.dynamic_sampling()) {
        // Refill r of this (step, learner) is a fixed batch of the refill order, so a resumed run refills the same.
        const int64_t first_refill = (step * static_cast<int64_t>(served.size()) + static_cast<int64_t>(j)) * g.max_refill_batches();
        keep_informative_groups(out, g.max_refill_batches(), [&](int r, proto::RolloutBatch& extra) {
          generate(prompts->refill(first_refill + r), derive_seed(seed, static_cast<uint64_t>(r) + 1), extra);
        });
      }
      sender.send(served[j], out);
      ++stats.batches;
    }
  }
  while (!weights.stopped()) weights.receive();  // learners end with a stop message
  sender.end(served);
  stats.weight_updates = weights.updates();
  stats.weight_apply_seconds = weights.apply_seconds();
  LOG(INFO) << "rollout worker " << index << ": " << stats.batches << " batches, " << stats.samples << " samples, "
            << stats.weight_updates << " weight updates (" << 1e3 * stats.weight_apply_seconds / std::max<int64_t>(1, stats.weight_updates)
            << " ms each to apply), " << stats.generate_seconds << " s generating";
  return stats;
}

}  // namespace fasrl::rollout
