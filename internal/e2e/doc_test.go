// Package e2e drives the built seedship and seedshipd binaries as a user
// would: real processes, a real TLS listener on 127.0.0.1, files on disk.
package e2e
