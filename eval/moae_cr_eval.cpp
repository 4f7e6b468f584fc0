#include "eval/moae_cr_eval.h"

#include <map>

#include "core/error.h"
#include "core/io.h"
#include "data/loader.h"
#include "data/modality_selection.h"
#include "metrics/score_file.h"

namespace fasrl::eval {

proto::ClipConfig resolve_model_config(const proto::ClipConfig& model, const proto::LoaderConfig& data) {
  proto::ClipConfig out = model;
  out.mutable_vision()->set_in_channels(data::select_modalities(data::Manifest::load(data.dataset()), data).total_channels());
  return out;
}

torch::Tensor model_input(const std::vector<torch::Tensor>& images) { return torch::cat(images, 1).sub(0.5).div(0.5); }

models::PromptTokens class_prompts(const proto::ClipConfig& model, const proto::MoaeCrConfig& c) {
  return models::tokenize_prompts({c.live_prompt(), c.fake_prompt()}, model.text().vocab_size(),
                                  model.text().context_length());
}

metrics::FasReport evaluate_moae_cr(models::ClipModel& model, const models::PromptTokens& prompts,
                                 const proto::LoaderConfig& data, std::vector<SampleScore>* scores) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto dataset = std::make_shared<const data::Dataset>(data.dataset());
  const torch::Tensor text = model->encode_text(prompts.ids, prompts.eot);  // [2, proj]
  auto score = [&](const std::string& split) {
    proto::LoaderConfig lc = data;
    lc.set_split(split);
    lc.set_shuffle(false);
    lc.set_drop_last(false);
    data::Loader loader(dataset, lc, 0, 1, 0);
    metrics::ScoredSamples out;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
      const data::Batch batch = loader.next();
      const torch::Tensor probs =
          torch::softmax(models::clip_logits(model->encode_image(model_input(batch.images)), text, model->logit_scale), 1);
      for (int64_t i = 0; i < batch.size(); ++i) {  // score = P(fake)
        const double p = probs[i][1].item<double>();
        const int attack = static_cast<int>(batch.binary[i].item<int64_t>()), fine = static_cast<int>(batch.fine[i].item<int64_t>());
        out.add(p, attack, fine);
        if (scores) scores->push_back({split, batch.sample_ids[static_cast<size_t>(i)], p, attack, fine});
      }
    }
    return out;
  };
  const auto dev = score("dev"), test = score("test");
  model->train();
  return metrics::evaluate(dev, test);
}

std::string write_moae_cr_report(const std::string& run_dir, const EvalSource& source, const metrics::FasReport& report,
                                 const std::vector<SampleScore>& scores, const std::vector<std::string>& fine_labels) {
  std::map<std::string, std::string> files;
  for (const char* split : {"dev", "test"}) {
    metrics::ScoredSamples samples;
    std::vector<std::string> ids;
    for (const auto& s : scores)
      if (s.split == split) {
        samples.add(s.score, s.is_attack, s.fine);
        ids.push_back(s.sample_id);
      }
    files[std::string("scores-") + split + ".csv"] = metrics::score_file_text(samples, fine_labels, ids);
  }
  return write_eval_outputs(run_dir, source, metrics::report_to_json(report, fine_labels), files);
}

}  // namespace fasrl::eval
