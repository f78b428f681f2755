// kube-apiserver, built from the Go module proxy. k8s.io/kubernetes cannot be `go install`ed (its
// go.mod points the k8s.io/* staging modules at local folders), so this module requires it and
// go.mod's replace block maps each staging module to its published v0.X.Y release.
// The body is cmd/kube-apiserver/apiserver.go of the same release.
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zones when the host has no zoneinfo

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
