package vault

// RepoPrefix is the object-name prefix under which the service's store
// keeps the repository of machine machineID of vault vaultID, as the vault
// API serves it. Operator commands that work on a repository directly
// (seedshipd vault prune) open the store below it.
func RepoPrefix(vaultID, machineID string) string { return repoPrefix(vaultID, machineID) }
