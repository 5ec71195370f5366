// aws-auth-mapper: what aws-iam-authenticator would make of the LIVE kube-system/aws-auth.
//
// It runs the authenticator's own configmap mapper (sigs.k8s.io/aws-iam-authenticator/pkg/mapper/configmap): the
// same watch on kube-system/aws-auth, the same ParseMap of mapRoles/mapUsers, the same lookup by canonical ARN
// (pkg/arn.Canonicalize turns an assumed-role session ARN into its role ARN, without path). It reads a JSON list of
// caller ARNs on stdin (sts assumed-role session ARNs, or IAM user ARNs) and prints, for each, the Kubernetes username
// and groups the authenticator would give it, or "error" when it maps nothing.
//
// Username and group templates are rendered the way the authenticator's server does it (pkg/server renderTemplate,
// a method of its unexported handler, so it cannot be called from here): {{AccountID}}, {{SessionName}} with "@"
// replaced by "-", {{SessionNameRaw}}, {{AccessKeyID}}. {{EC2PrivateDNSName}} needs the EC2 API and is left as is.
//
// Usage: aws-auth-mapper --kubeconfig FILE < arns.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"sigs.k8s.io/aws-iam-authenticator/pkg/arn"
	"sigs.k8s.io/aws-iam-authenticator/pkg/config"
	"sigs.k8s.io/aws-iam-authenticator/pkg/mapper/configmap"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

type result struct {
	ARN          string   `json:"arn"`
	CanonicalARN string   `json:"canonical_arn,omitempty"`
	Username     string   `json:"username,omitempty"`
	Groups       []string `json:"groups,omitempty"`
	Error        string   `json:"error,omitempty"`
}

type output struct {
	ParseError   string                `json:"parse_error,omitempty"`
	RoleMappings []config.RoleMapping  `json:"role_mappings"`
	UserMappings []config.UserMapping  `json:"user_mappings"`
	Identities   []result              `json:"identities"`
}

func render(template string, id *token.Identity) string {
	template = strings.ReplaceAll(template, "{{AccountID}}", id.AccountID)
	template = strings.ReplaceAll(template, "{{SessionName}}", strings.ReplaceAll(id.SessionName, "@", "-"))
	template = strings.ReplaceAll(template, "{{SessionNameRaw}}", id.SessionName)
	template = strings.ReplaceAll(template, "{{AccessKeyID}}", id.AccessKeyID)
	return template
}

// identity builds what the authenticator's token verifier derives from a caller ARN.
func identity(callerARN string) (*token.Identity, error) {
	_, canonical, err := arn.Canonicalize(callerARN)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(callerARN, ":")
	id := &token.Identity{ARN: callerARN, CanonicalARN: canonical}
	if len(parts) >= 6 {
		id.AccountID = parts[4]
		resource := strings.Split(parts[5], "/")
		if resource[0] == "assumed-role" && len(resource) >= 3 {
			id.SessionName = resource[len(resource)-1]
		}
	}
	return id, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "aws-auth-mapper: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of an identity that can read kube-system/aws-auth")
	wait := flag.Duration("wait", 20*time.Second, "how long to wait for the mapper's watch to load aws-auth")
	flag.Parse()

	var arns []string
	if err := json.NewDecoder(os.Stdin).Decode(&arns); err != nil {
		fail("stdin: want a JSON list of ARNs: %v", err)
	}

	// The live object, read once, so that we know what the watch must have loaded and can report parse errors
	// (the authenticator only logs them and keeps the entries that parsed).
	restConfig, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail("%v", err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		fail("%v", err)
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "aws-auth", metav1.GetOptions{})
	if err != nil {
		fail("reading kube-system/aws-auth: %v", err)
	}
	var out output
	userMappings, roleMappings, _, parseErr := configmap.ParseMap(cm.Data)
	if parseErr != nil {
		out.ParseError = parseErr.Error()
	}
	out.RoleMappings, out.UserMappings = roleMappings, userMappings

	mapper, err := configmap.NewConfigMapMapper(config.Config{Kubeconfig: *kubeconfig})
	if err != nil {
		fail("%v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if err := mapper.Start(stop); err != nil {
		fail("%v", err)
	}
	// Wait until the mapper's own watch has loaded every entry ParseMap found.
	deadline := time.Now().Add(*wait)
	for {
		loaded := true
		for _, r := range roleMappings {
			if _, err := mapper.RoleMapping(strings.ToLower(r.RoleARN)); err != nil {
				loaded = false
			}
		}
		for _, u := range userMappings {
			if _, err := mapper.UserMapping(strings.ToLower(u.UserARN)); err != nil {
				loaded = false
			}
		}
		if loaded {
			break
		}
		if time.Now().After(deadline) {
			fail("the mapper's watch did not load aws-auth within %v", *wait)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, a := range arns {
		r := result{ARN: a}
		id, err := identity(a)
		if err != nil {
			r.Error = err.Error()
			out.Identities = append(out.Identities, r)
			continue
		}
		r.CanonicalARN = id.CanonicalARN
		m, err := mapper.Map(id)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Username = render(m.Username, id)
			for _, g := range m.Groups {
				r.Groups = append(r.Groups, render(g, id))
			}
		}
		out.Identities = append(out.Identities, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}
