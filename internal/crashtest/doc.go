// Package crashtest holds end-to-end tests of a backup made with the real
// packages (repo, archiver, restorer, checker) over a fault-injecting
// store: a backup interrupted by the failure of any single write leaves a
// repository that checks clean and that the next backup completes without
// uploading again what was already stored; transient faults are retried;
// damaged reads are always detected. It has no non-test code.
package crashtest
