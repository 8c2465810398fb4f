package main

import (
	"context"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
)

func openLocation(_ context.Context, loc string, create bool) (store.Store, error) {
	if create {
		return local.Create(loc)
	}
	return local.Open(loc)
}
