#ifndef PROF_C_SWIFT_DEMANGLE_H
#define PROF_C_SWIFT_DEMANGLE_H

#include <stddef.h>
#include <stdint.h>

// Exported by libswiftCore (swift/Demangling/Demangle.h, "swift_demangle").
// Returns a malloc'ed, NUL-terminated string when outputBuffer is NULL, or NULL
// if mangledName is not a Swift symbol. flags must be 0.
char *swift_demangle(const char *mangledName, size_t mangledNameLength,
                     char *outputBuffer, size_t *outputBufferSize,
                     uint32_t flags);

#endif
