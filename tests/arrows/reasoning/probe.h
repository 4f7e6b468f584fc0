// A header-only include across a forbidden arrow (reasoning -> models).
#pragma once
#include "models/tokenizer.h"
