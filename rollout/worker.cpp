#include "rollout/worker.h"

#include <glog/logging.h>

#include <nlohmann/json.hpp>

#include "comm/messages.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/loader.h"
#include "reasoning/qa_items.h"
#include "reasoning/rewards.h"
#include "models/generate.h"
#include "models/mllm.h"
#include "proto/rollout.pb.h"
#include "rollout/advantages.h"

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

}  // namespace

RolloutStats run_rollout_worker(const RolloutJob& job, const comm::RoleSplit& roles, MPI_Comm world) {
  const proto::GrpoConfig& g = job.grpo;
  const int num_learners = roles.num_learners, num_rollout = roles.num_rollout, index = roles.role_rank;
  std::vector<int> served;
  for (int l = 0; l < num_learners; ++l)
    if (l % num_rollout == index) served.push_back(l);
  torch::manual_seed(job.run.seed());
  auto dataset = std::make_shared<const data::Dataset>(job.data.dataset());
  models::MllmBundle bundle = models::load_mllm(job.model, dataset->manifest().modality_names());
  models::Mllm& model = bundle.model;
  model->eval();
  const reasoning::KnowledgeGraph kg = reasoning::KnowledgeGraph::load(job.qa.knowledge_graph());
  std::vector<torch::Tensor> params = model->parameters();

  RolloutStats stats;
  int64_t version = -2;
  bool stop = false;
  // One weight message from learner 0: new weights, or version -1 = stop.
  auto receive_weights = [&] {
    const std::string bytes = comm::recv_bytes(world, 0, comm::kWeightsTag);
    int64_t v = 0;
    if (bytes.size() == sizeof(int64_t)) {
      std::memcpy(&v, bytes.data(), sizeof v);
      if (v == -1) stop = true;
      return;
    }
    Stopwatch clock;
    v = comm::unpack_weights_into(bytes, params, "weights from learner 0");
    stats.weight_apply_seconds += clock.seconds();
    version = v;
    ++stats.weight_updates;
  };
  receive_weights();  // the starting weights; their version is the first step to generate for
  const int64_t first_step = version;

  proto::LoaderConfig lc = job.data;
  lc.set_split("train");
  lc.set_batch_size(g.prompts_per_batch());
  lc.set_drop_last(true);
  lc.set_image_size(job.model.vision().image_size());
  lc.clear_text_fields();
  lc.add_text_fields(job.qa_field);
  lc.mutable_augment()->Clear();
  // Prompt batch n = step * served + j, as a loader cursor.
  data::LoaderCursor cursor;
  if (!served.empty() && !stop) {
    const int64_t per_epoch =
        data::Loader(dataset, lc, index, num_rollout, job.run.seed() + 1).batches_per_epoch();
    const int64_t n = first_step * static_cast<int64_t>(served.size());
    cursor = {n / per_epoch, (n % per_epoch) * g.prompts_per_batch()};
  }
  std::unique_ptr<data::Loader> loader;
  if (!served.empty() && !stop) loader = std::make_unique<data::Loader>(dataset, lc, index, num_rollout, job.run.seed() + 1, cursor);

  const int64_t im_end = bundle.tokenizer.token_id("<|im_end|>");
  comm::Outbox outbox(world);
  for (int64_t step = first_step; step < job.steps && !stop && !served.empty(); ++step) {
    for (size_t j = 0; j < served.size() && !stop; ++j) {
      const int learner = served[j];
      // Newest weights that have arrived; block while older than step - max_staleness.
      while (!stop && comm::message_waiting(world, 0, comm::kWeightsTag)) receive_weights();
      while (!stop && version < step - g.max_staleness()) receive_weights();
      if (stop) break;
      const data::Batch batch = loader->next();
      const models::MllmImages in = models::mllm_images(batch.images, batch.modality_mask, batch.modalities);
      proto::RolloutBatch out;
      out.set_policy_version(version);
      out.set_worker(roles.num_learners + index);
      out.set_step(step);
      std::vector<std::vector<int64_t>> prompts;
      std::vector<torch::Tensor> gen_images;
      std::vector<reasoning::QaItem> chosen;
      std::vector<std::string> fine;
      int64_t offset = 0;
      for (int64_t i = 0; i < batch.size(); ++i) {
        const size_t r = static_cast<size_t>(i);
        auto items = reasoning::qa_from_json(batch.text.at(job.qa_field)[r], batch.sample_ids[r]);
        if (g.kinds_size() > 0)
          items.erase(std::remove_if(items.begin(), items.end(), [&](const reasoning::QaItem& it) {
                        return std::find(g.kinds().begin(), g.kinds().end(), it.kind) == g.kinds().end();
                      }), items.end());
        if (items.empty()) raise(ErrorKind::kConfig, "grpo.kinds: sample ", batch.sample_ids[r], " has no item of those kinds");
        Rng rng(derive_seed(job.run.seed(), fnv1a64(batch.sample_ids[r]), static_cast<uint64_t>(step)));
        chosen.push_back(items[rng.below(items.size())]);
        fine.push_back(dataset->manifest().fine_labels.at(static_cast<size_t>(batch.fine[i].item<int64_t>())));
        const auto& present = in.present[r];
        const int64_t k = static_cast<int64_t>(present.size());
        proto::RolloutGroup* group = out.add_groups();
        group->set_sample_id(batch.sample_ids[r]);
        group->set_kind(chosen.back().kind);
        const auto ids = models::chat_prompt_ids(bundle.tokenizer, *model, present, chosen.back().question);
        for (int64_t id : ids) group->add_prompt_ids(id);
        for (size_t m = 0, p = 0; m < batch.modalities.size(); ++m)
          if (batch.modality_mask[i][static_cast<int64_t>(m)].item<int>())
            *group->add_images() = to_proto_image(present[p++], batch.images[m][i]);
        for (int c = 0; c < g.group_size(); ++c) {
          prompts.push_back(ids);
          if (k) gen_images.push_back(in.images.slice(0, offset, offset + k));
        }
        offset += k;
      }
      const torch::Tensor images = gen_images.empty() ? torch::Tensor() : torch::cat(gen_images, 0);
      models::SamplingOptions o;
      o.temperature = g.temperature();
      o.top_p = g.top_p();
      o.top_k = g.top_k();
      o.max_new_tokens = g.max_new_tokens();
      o.eos_id = im_end;
      o.pad_id = im_end;
      o.banned_ids = models::policy_banned_ids(*model, bundle.tokenizer);
      o.seed = derive_seed(job.run.seed(), static_cast<uint64_t>(step), static_cast<uint64_t>(learner));
      Stopwatch clock;
      const models::Generation gen = models::generate(model->language_model(), prompts, o, nullptr,
                                                      [&](const torch::Tensor& ids) { return model->embed(ids, images); });
      stats.generate_seconds += clock.seconds();
      std::vector<double> rewards;
      std::vector<reasoning::Reward> terms;
      for (size_t q = 0; q < prompts.size(); ++q) {
        const size_t group = q / static_cast<size_t>(g.group_size());
        std::vector<int64_t> text_tokens = gen.tokens[q];
        if (!text_tokens.empty() && text_tokens.back() == im_end) text_tokens.pop_back();
        terms.push_back(reasoning::score_response(bundle.tokenizer.decode(text_tokens), chosen[group], fine[group], kg, g));
        rewards.push_back(terms.back().total);
      }
      const auto adv = group_advantages(rewards, g.group_size(), g.scale_rewards(), g.advantage_eps());
      for (size_t q = 0; q < prompts.size(); ++q) {
        proto::RolloutCompletion* c = out.mutable_groups(static_cast<int>(q / static_cast<size_t>(g.group_size())))->add_completions();
        for (int64_t t : gen.tokens[q]) c->add_tokens(t);
        for (double lp : gen.logprobs[q]) c->add_logprobs(static_cast<float>(lp));
        c->set_reward(static_cast<float>(rewards[q]));
        c->set_advantage(static_cast<float>(adv[q]));
        (*c->mutable_reward_terms())["format"] = static_cast<float>(terms[q].format);
        (*c->mutable_reward_terms())["accuracy"] = static_cast<float>(terms[q].accuracy);
        (*c->mutable_reward_terms())["kg"] = static_cast<float>(terms[q].kg);
        c->set_truncated(gen.finish[q] == "length");
      }
      std::string bytes;
      out.SerializeToString(&bytes);
      outbox.send(learner, comm::kRolloutTag, std::move(bytes));
      ++stats.batches;
      stats.samples += static_cast<int64_t>(prompts.size());
    }
  }
  while (!stop) receive_weights();  // learners end with a stop message
  for (int learner : served) outbox.send(learner, comm::kRolloutTag, std::string());
  outbox.wait_all();
  LOG(INFO) << "rollout worker " << index << ": " << stats.batches << " batches, " << stats.samples << " samples, "
            << stats.weight_updates << " weight updates (" << 1e3 * stats.weight_apply_seconds / std::max<int64_t>(1, stats.weight_updates)
            << " ms each to apply), " << stats.generate_seconds << " s generating";
  return stats;
}

}  // namespace fasrl::rollout
