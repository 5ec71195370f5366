// The Kubernetes provider plugin from github.com/pulumi/pulumi-kubernetes/provider/v4, served as upstream's
// cmd/pulumi-resource-kubernetes does. Upstream embeds schema-embed.json and terraform-mapping-embed.json, which its
// Makefile copies from schema.json and terraform-mapping.json at build time and which the module therefore lacks;
// tools/e2e/build copies those two files from the module next to this file before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
