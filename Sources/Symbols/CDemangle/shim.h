// Demanglers already present in every Swift process on Linux.
#include <stddef.h>
#include <stdint.h>

// Exported by libswiftCore.
char *swift_demangle(const char *mangledName, size_t mangledNameLength, char *outputBuffer,
                     size_t *outputBufferSize, uint32_t flags);

// The Itanium C++ ABI demangler, from libstdc++.
char *__cxa_demangle(const char *mangledName, char *outputBuffer, size_t *length, int *status);
