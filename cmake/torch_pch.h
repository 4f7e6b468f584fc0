// The torch headers every torch-using translation unit shares (precompiled once).
#pragma once
#include <torch/torch.h>
