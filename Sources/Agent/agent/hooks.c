// The subsystems registered with the lifecycle: a file of its own so that a
// subsystem registering itself never calls into the lifecycle that drives it.
#include "agent.h"

#define MAX_SUBSYSTEMS 8

const struct prof_subsystem *prof_subsystems[MAX_SUBSYSTEMS];
size_t prof_subsystem_count;

void prof_lifecycle_register(const struct prof_subsystem *subsystem) {
  if (prof_subsystem_count < MAX_SUBSYSTEMS) prof_subsystems[prof_subsystem_count++] = subsystem;
}
