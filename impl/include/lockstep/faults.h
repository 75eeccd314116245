/* Injected faults for the C API's default kernel (see `lockstep faults` for the list). */
#ifndef LOCKSTEP_LOCKSTEP_FAULTS_H
#define LOCKSTEP_LOCKSTEP_FAULTS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces the enabled set with the comma-separated names in `csv` ("" = none). Before rump_init() it
 * overrides LOCKSTEP_FAULT; after, it applies to the running default kernel. Returns 0, or EINVAL (and
 * changes nothing) if a name is unknown. */
int lockstep_set_faults(const char *csv);

#ifdef __cplusplus
}
#endif

#endif
