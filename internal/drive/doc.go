// Package drive is the drive format of offline seeding and the engine that
// prepares drives from a staging repository.
//
// A prepared drive holds repository files under their repository paths, a
// manifest (seedship-manifest.json) listing every file's path, size and
// SHA-256, and a detached MAC of the manifest (seedship-manifest.mac) keyed
// with the job key. ParseManifest, VerifyMAC and CheckPath are the
// importer's defences against a damaged or malicious drive; OpenNoFollow
// reads a file of a drive without following symbolic links.
//
// Prep copies a staging repository onto one drive after another. It keeps a
// journal (seedship-diskprep.journal) in the staging directory so that a run
// killed at any moment resumes where it stopped: nothing is copied twice,
// and a drive never holds a manifest that disagrees with its files. The
// format and the resume rules are described in docs/format.md.
package drive
