// Host memory of a training process: allocator settings and peak use.
#pragma once

namespace fasrl {

// glibc hands every freed block above its mmap threshold (128 KiB, adapting
// up to 32 MiB) back to the kernel and trims the heap top, so each training
// step's activations page-fault in again: on 2 cores with 2 ranks, half of an
// SFT step of the tiny MLLM was kernel page-fault time. Raising the mmap
// threshold to 256 MiB and the trim threshold to 1 GiB keeps freed memory
// for reuse (what PyTorch's docs get from jemalloc/tcmalloc). Left alone when
// the user set MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_, or when
// FASRL_KEEP_MALLOC is set. Returns whether it changed anything.
bool keep_freed_host_memory();

// Hands the free memory the allocator kept (see above) back to the kernel
// (malloc_trim): after a large phase ends and before another process needs it.
void release_free_host_memory();

// This process's peak resident set size so far, in MB (getrusage ru_maxrss).
double peak_host_memory_mb();

}  // namespace fasrl
