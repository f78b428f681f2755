// Docker Compose v2 (`docker compose config` validates the project's compose file without a Docker
// engine), built from the Go module proxy: compose's own module carries exclude directives, so
// `go install github.com/docker/compose/v2/cmd@...` is refused; a wrapper module is not. This is
// compose's cmd/main.go less its OpenTelemetry tracing and prompt, which `config` never uses.
package main

import (
	"os"

	dockercli "github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/docker/compose/v2/cmd/compatibility"
	commands "github.com/docker/compose/v2/cmd/compose"
	"github.com/docker/compose/v2/pkg/compose"
	"github.com/spf13/cobra"
)

// Set by build-tools.sh (-X), with compose's own internal.Version, to the pinned release.
var version = "unknown"

func main() {
	if plugin.RunningStandalone() {
		os.Args = append([]string{"docker"}, compatibility.Convert(os.Args[1:])...)
	}
	plugin.Run(
		func(cli command.Cli) *cobra.Command {
			cmd := commands.RootCommand(cli, compose.NewComposeService(cli))
			originalPreRunE := cmd.PersistentPreRunE
			cmd.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
				if err := plugin.PersistentPreRunE(cmd, args); err != nil {
					return err
				}
				if originalPreRunE != nil {
					return originalPreRunE(cmd, args)
				}
				return nil
			}
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
				return dockercli.StatusError{StatusCode: 1, Status: err.Error()}
			})
			return cmd
		},
		metadata.Metadata{SchemaVersion: "0.1.0", Vendor: "Docker Inc.", Version: version},
		command.WithUserAgent("compose/"+version),
	)
}
