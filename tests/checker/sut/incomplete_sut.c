/* A library that exports only two of the six required names, for tests/checker/test_sut.cpp: lockstep
 * must refuse it and name the four that are missing. */
__attribute__((visibility("default"))) int rump_init(void) { return 0; }
__attribute__((visibility("default"))) int rump_pub_lwproc_rfork(int flags) { return flags; }
