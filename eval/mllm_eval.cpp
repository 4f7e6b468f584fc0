#include "eval/mllm_eval.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "data/loader.h"
#include "metrics/score_file.h"
#include "reasoning/response_format.h"
#include "reasoning/rewards.h"
#include "models/chat_template.h"
#include "models/generate.h"

namespace fasrl::eval {
namespace {

// Sum of log-probs of each candidate continuation after `prefix`, one forward
// pass over all candidates (rows right-padded). images: this sample's [k, 3, S, S].
std::vector<double> candidate_logprobs(models::MllmImpl& m, const std::vector<int64_t>& prefix, const torch::Tensor& images,
                                       const std::vector<std::vector<int64_t>>& candidates, int64_t pad_id,
                                       const std::vector<int64_t>& banned) {
  const int64_t c = static_cast<int64_t>(candidates.size()), p = static_cast<int64_t>(prefix.size());
  int64_t longest = 0;
  for (const auto& cand : candidates) longest = std::max<int64_t>(longest, p + static_cast<int64_t>(cand.size()));
  torch::Tensor ids = torch::full({c, longest}, pad_id, torch::kInt64), pad = torch::zeros({c, longest}, torch::kInt64);
  for (int64_t i = 0; i < c; ++i) {
    std::vector<int64_t> seq = prefix;
    seq.insert(seq.end(), candidates[static_cast<size_t>(i)].begin(), candidates[static_cast<size_t>(i)].end());
    ids[i].slice(0, 0, static_cast<int64_t>(seq.size())) = torch::tensor(seq, torch::kInt64);
    pad[i].slice(0, 0, static_cast<int64_t>(seq.size())).fill_(1);
  }
  const torch::Tensor rep = images.defined() ? images.repeat({c, 1, 1, 1}) : images;
  const torch::Tensor logp = models::ban_tokens(m.forward(ids, rep, pad).to(torch::kFloat64), banned).log_softmax(-1);
  std::vector<double> out;
  for (int64_t i = 0; i < c; ++i) {
    double s = 0;
    const auto& cand = candidates[static_cast<size_t>(i)];
    for (size_t j = 0; j < cand.size(); ++j) s += logp[i][p + static_cast<int64_t>(j) - 1][cand[j]].item<double>();
    out.push_back(s);
  }
  return out;
}

SplitScore score_split(models::Mllm& model, const models::BpeTokenizer& tok, const reasoning::KnowledgeGraph& kg,
                       const proto::LoaderConfig& data, const std::string& qa_field, const proto::MllmEvalConfig& settings,
                       const proto::RewardConfig& weights, const std::string& split, ProgressMeter* progress) {
  proto::LoaderConfig lc = data;
  lc.set_split(split);
  lc.set_shuffle(false);
  lc.set_drop_last(false);
  lc.clear_text_fields();
  lc.add_text_fields(qa_field);
  auto dataset = std::make_shared<const data::Dataset>(lc.dataset());
  data::Loader loader(dataset, lc, 0, 1, 0);
  const int64_t limit = settings.samples() > 0 ? std::min<int64_t>(settings.samples(), loader.split_size()) : loader.split_size();
  const int64_t im_end = tok.token_id(models::kImEndToken), answer_open = tok.token_id(reasoning::kAnswerOpen),
                think_close = tok.token_id(reasoning::kThinkClose);
  if (im_end < 0 || answer_open < 0 || think_close < 0)
    raise(ErrorKind::kConfig, "the tokenizer lacks ", models::kImEndToken, ", ", reasoning::kAnswerOpen, " or ",
          reasoning::kThinkClose, " (see fasrl tokenizer train)");
  const auto answer_close = tok.encode(reasoning::kAnswerClose);
  const std::vector<int64_t> banned = models::policy_banned_ids(*model, tok);
  models::ChatSampling greedy;
  greedy.max_new_tokens = settings.max_new_tokens();

  SplitScore out;
  int64_t seen = 0;
  if (progress) progress->start(limit, "eval " + split);
  while (seen < limit) {
    const data::Batch batch = loader.next();
    const int64_t b = std::min<int64_t>(batch.size(), limit - seen);
    const models::MllmImages in = models::mllm_images(batch.images, batch.modality_mask, batch.modalities);
    std::vector<std::vector<reasoning::QaItem>> items;
    std::vector<torch::Tensor> own_images;  // per row: its slice of in.images
    int64_t offset = 0;
    for (int64_t i = 0; i < b; ++i) {
      items.push_back(reasoning::qa_from_json(batch.text.at(qa_field)[static_cast<size_t>(i)], batch.sample_ids[static_cast<size_t>(i)]));
      const int64_t k = static_cast<int64_t>(in.present[static_cast<size_t>(i)].size());
      own_images.push_back(k ? in.images.slice(0, offset, offset + k) : torch::Tensor());
      offset += k;
    }
    const torch::Tensor batch_images = offset ? in.images.slice(0, 0, offset) : torch::Tensor();
    for (size_t q = 0; q < items[0].size(); ++q) {  // every sample carries the same kinds, in order
      std::vector<std::vector<int64_t>> prompts;
      for (int64_t i = 0; i < b; ++i)
        prompts.push_back(models::chat_prompt_ids(tok, *model, in.present[static_cast<size_t>(i)], items[static_cast<size_t>(i)][q].question));
      const auto gen = models::generate_chat(*model, tok, prompts, batch_images, greedy);
      for (int64_t i = 0; i < b; ++i) {
        const size_t r = static_cast<size_t>(i);
        const reasoning::QaItem& item = items[r][q];
        const std::vector<int64_t>& completion = gen[r].content;
        const std::string& text = gen[r].text;
        const reasoning::ParsedResponse parsed = reasoning::parse_response(text);
        KindScore& ks = out.kinds[item.kind];
        ks.add(item.label, reasoning::answer_matches(item, parsed.answer));
        ks.well_formed += parsed.well_formed;
        const std::string& fine = dataset->manifest().fine_labels.at(static_cast<size_t>(batch.fine[i].item<int64_t>()));
        const reasoning::Reward reward = reasoning::score_response(text, item, fine, kg, weights);
        ks.reward_sum += reward.total;
        ks.claimed_cues += reward.claimed_cues;
        ks.supporting_cues += reward.supporting_cues;
        ks.contradicting_cues += reward.contradicting_cues;
        if (out.examples.size() < 4 && q == 0) out.examples.push_back(item.question + " => " + text);
        // Ranked: the model's rationale up to </think>, then "<answer>" + candidate + "</answer>".
        std::vector<int64_t> prefix = prompts[r];
        const auto stop = std::find(completion.begin(), completion.end(), think_close);
        prefix.insert(prefix.end(), completion.begin(), stop);
        prefix.push_back(think_close);
        prefix.push_back(answer_open);
        std::vector<std::string> names;
        if (item.kind == "choice")
          for (size_t k = 0; k < item.options.size(); ++k) names.push_back(std::string(1, static_cast<char>('A' + k)));
        else
          names = kg.labels_at(reasoning::kind_granularity(item.kind));
        std::vector<std::vector<int64_t>> cands;
        for (const auto& n : names) {
          auto ids = tok.encode(n);
          ids.insert(ids.end(), answer_close.begin(), answer_close.end());
          cands.push_back(ids);
        }
        const auto lp = candidate_logprobs(*model, prefix, own_images[r], cands, im_end, banned);
        const size_t best = static_cast<size_t>(std::max_element(lp.begin(), lp.end()) - lp.begin());
        ks.ranked_correct += item.kind == "choice" ? names[best] == item.answer : names[best] == item.label;
        if (item.kind == "binary") {
          const size_t live = static_cast<size_t>(std::find(names.begin(), names.end(), "live") - names.begin());
          const size_t attack = static_cast<size_t>(std::find(names.begin(), names.end(), "attack") - names.begin());
          FASRL_CHECK(live < names.size() && attack < names.size(), "binary labels must be live and attack");
          const double p_attack = 1.0 / (1.0 + std::exp(lp[live] - lp[attack]));
          out.binary_scores.add(p_attack, static_cast<int>(batch.binary[i].item<int64_t>()),
                                static_cast<int>(batch.fine[i].item<int64_t>()));
        }
      }
    }
    seen += b;
    if (progress) progress->advance(b);
  }
  if (progress) progress->finish();
  return out;
}

nlohmann::json split_json(const SplitScore& s) {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, k] : s.kinds)
    kinds[kind] = {{"items", k.items},
                   {"accuracy", k.accuracy()},
                   {"ranked_accuracy", k.ranked_accuracy()},
                   {"well_formed", k.items ? static_cast<double>(k.well_formed) / k.items : 0},
                   {"balanced_accuracy", k.balanced_accuracy()},
                   {"majority_baseline", k.majority()},
                   {"mean_reward", k.mean_reward()},
                   {"cues_per_response", k.items ? static_cast<double>(k.claimed_cues) / k.items : 0},
                   {"kg_support_share", k.kg_support_share()},
                   {"kg_contradict_share", k.kg_contradict_share()}};
  return {{"kinds", kinds}, {"examples", s.examples}};
}

}  // namespace

void KindScore::add(const std::string& label, bool is_correct) {
  ++items;
  ++labels[label];
  correct += is_correct;
  correct_by_label[label] += is_correct;
}

double KindScore::balanced_accuracy() const {
  if (labels.empty()) return 0;
  double sum = 0;
  for (const auto& [label, n] : labels) {
    const auto hit = correct_by_label.find(label);
    sum += static_cast<double>(hit == correct_by_label.end() ? 0 : hit->second) / static_cast<double>(n);
  }
  return sum / static_cast<double>(labels.size());
}

double KindScore::majority() const {
  int64_t best = 0;
  for (const auto& [label, n] : labels) best = std::max(best, n);
  return items ? static_cast<double>(best) / items : 0;
}

MllmEvaluation evaluate_mllm(models::Mllm& model, const models::BpeTokenizer& tokenizer, const reasoning::KnowledgeGraph& kg,
                             const proto::LoaderConfig& data, const std::string& qa_field,
                             const proto::MllmEvalConfig& settings, const proto::RewardConfig& weights,
                             ProgressMeter* progress) {
  torch::NoGradGuard no_grad;
  model->eval();
  MllmEvaluation e;
  e.protocol = data.protocol();
  e.dev = score_split(model, tokenizer, kg, data, qa_field, settings, weights, "dev", progress);
  e.test = score_split(model, tokenizer, kg, data, qa_field, settings, weights, "test", progress);
  auto both_classes = [](const metrics::ScoredSamples& s) {
    const auto attacks = std::count(s.is_attack.begin(), s.is_attack.end(), 1);
    return attacks > 0 && attacks < static_cast<int64_t>(s.size());
  };
  e.has_fas = both_classes(e.dev.binary_scores) && both_classes(e.test.binary_scores);
  if (e.has_fas) e.fas = metrics::evaluate(e.dev.binary_scores, e.test.binary_scores);
  model->train();
  return e;
}

std::map<std::string, double> mllm_eval_summary(const MllmEvaluation& e) {
  std::map<std::string, double> row;
  double reward = 0;
  for (const auto& [kind, k] : e.test.kinds) {
    row[kind + "_accuracy"] = k.accuracy();
    row[kind + "_ranked_accuracy"] = k.ranked_accuracy();
    row[kind + "_balanced_accuracy"] = k.balanced_accuracy();
    row[kind + "_reward"] = k.mean_reward();
    reward += k.mean_reward();
  }
  if (!e.test.kinds.empty()) row["mean_reward"] = reward / static_cast<double>(e.test.kinds.size());
  if (e.has_fas) {
    row["auc"] = e.fas.auc;
    row["acer"] = e.fas.acer;
  }
  return row;
}

std::string mllm_report_json(const MllmEvaluation& e, const std::vector<std::string>& fine_labels) {
  nlohmann::json j = {{"protocol", e.protocol}, {"dev", split_json(e.dev)}, {"test", split_json(e.test)}};
  j["fas"] = e.has_fas ? nlohmann::json::parse(metrics::report_to_json(e.fas, fine_labels)) : nlohmann::json(nullptr);
  return j.dump(2);
}

nlohmann::json mllm_eval_row(const MllmEvaluation& e, const std::string& when, int64_t step) {
  nlohmann::json row = {{"eval", when}, {"step", step}};
  for (const auto& [key, value] : mllm_eval_summary(e)) row[key] = value;
  return row;
}

std::string write_mllm_report(const std::string& run_dir, const EvalSource& source, const MllmEvaluation& e,
                              const std::vector<std::string>& fine_labels) {
  std::map<std::string, std::string> files;
  if (e.has_fas) {
    files["scores-dev.csv"] = metrics::score_file_text(e.dev.binary_scores, fine_labels);
    files["scores-test.csv"] = metrics::score_file_text(e.test.binary_scores, fine_labels);
  }
  return write_eval_outputs(run_dir, source, mllm_report_json(e, fine_labels), files);
}

}  // namespace fasrl::eval
