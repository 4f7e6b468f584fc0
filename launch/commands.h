// The fasrl subcommands, one function each (launch/main.cpp dispatches).
// Each takes the parsed arguments and returns the process exit code; errors
// are thrown as fasrl::Error and reported by main.
#pragma once
#include "launch/cli.h"
#include "proto/config.pb.h"

namespace fasrl::launch {

// --config F (else `fallback_file` when given, else the schema defaults) with
// k.sub=value overrides, defaults filled in.
proto::JobConfig load_job_config(const Args& args, const std::string& fallback_file = "");

// commands_data.cpp
int cmd_synth(const Args& args);
int cmd_pack(const Args& args);
int cmd_qa(const Args& args);
int cmd_inspect(const Args& args);
int cmd_verify(const Args& args);
int cmd_iterate(const Args& args);
// commands_train.cpp
int cmd_train(const Args& args);
// commands_model.cpp
int cmd_eval(const Args& args);
int cmd_eval_scores(const Args& args);
int cmd_export(const Args& args);
int cmd_infer(const Args& args);
// commands_status.cpp
int cmd_status(const Args& args);
// commands_plot.cpp
int cmd_plot(const Args& args);
// commands_experiment.cpp
int cmd_experiment(const Args& args);
// commands_tools.cpp
int cmd_tokenizer_encode(const Args& args);
int cmd_tokenizer_train(const Args& args);
int cmd_config_show(const Args& args);
int cmd_version(const Args& args);

}  // namespace fasrl::launch
