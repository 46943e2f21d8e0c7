// Text without stdio. The dormant agent's path (constructors, the control
// channel's socket name) stays out of printf's code: in a process that never
// prints, its pages would be the agent's RSS (docs/notes/agent-rss.md). Safe in a
// signal handler and on the way out of _exit.
#include <stdarg.h>
#include <string.h>

#include "agent.h"

const char *prof_decimal(uint64_t value, char digits[PROF_DECIMAL_SIZE]) {
  char *cursor = digits + PROF_DECIMAL_SIZE - 1;
  *cursor = 0;
  do *--cursor = (char)('0' + value % 10); while ((value /= 10) > 0);
  return cursor;
}

size_t prof_join(char *out, size_t size, ...) {
  va_list parts;
  va_start(parts, size);
  size_t length = 0;
  for (const char *part; (part = va_arg(parts, const char *)) != NULL;) {
    size_t part_length = strlen(part);
    if (length < size) memcpy(out + length, part, length + part_length < size ? part_length : size - length);
    length += part_length;
  }
  va_end(parts);
  if (size > 0) out[length < size ? length : size - 1] = 0;
  return length;
}
