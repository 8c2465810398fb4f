package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"
)

func newServeCmd(e env) *cobra.Command {
	var dir, listen string
	c := &cobra.Command{
		Use:   "serve --data DIR [--listen ADDR]",
		Short: "Serve the vault API over HTTPS until interrupted",
		Long: `serve runs the service until SIGINT or SIGTERM, then shuts down gracefully:
it stops accepting connections and lets in-flight requests, uploads
included, finish (up to shutdown_timeout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Serve(cmd.Context(), listen, func(a net.Addr) {
				fmt.Fprintf(e.stdout, "seedshipd listening on https://%s\n", a)
				if e.ready != nil {
					e.ready(a.String())
				}
			})
		},
	}
	dataFlag(c, &dir)
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default: listen in seedshipd.toml, 127.0.0.1:8443)")
	return c
}
