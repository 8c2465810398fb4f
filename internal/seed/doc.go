// Package seed is the customer side's record of an offline seed: the seed
// record (seedship-seed.json) that a staging location carries next to its
// repository, and the two private files beside it — a copy of the account
// settings file and the per-job key — that never go onto a drive.
//
// The staging location is a repository in the normal format. The seed
// record says which import job, account, storage account and container it
// is for, which snapshots it holds, and, once the drives are prepared, the
// import job as the service created it and the shipping details. Every
// file is written atomically (temporary name, fsync, rename, fsync of the
// directory), so an interrupted command leaves the old or the new record,
// never a torn one.
package seed
