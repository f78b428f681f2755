// kubectl, built from the Go module proxy for `npm run bench:drain`, which times it against tnth's
// drain. The body is cmd/kubectl/kubectl.go of k8s.io/kubernetes at the same release; k8s.io/kubectl
// is a published module, so no replace block is needed.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Import to initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	// The verbosity is set before the command is built, so klog works while kubectl reads .kuberc and
	// looks for plugins (as upstream does).
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
