package admission

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// crdSchema is the validation of one served CRD version, built with the API server's own code.
type crdSchema struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// loadCRDSchemas validates every CRD in config/crd/bases as the API server does on
// creation (structural schema, CEL compilation and cost estimation) and returns the
// schema of each kind.
func loadCRDSchemas(t *testing.T) map[string]crdSchema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s (%v): run make manifests", crdDir, err)
	}
	schemas := map[string]crdSchema{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v1crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, v1crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(v1crd)
		crd := &apiextensions.CustomResourceDefinition{}
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(v1crd, crd, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
			t.Fatalf("%s would be refused by the API server:\n%v", f, errs.ToAggregate())
		}
		if len(crd.Spec.Versions) != 1 {
			t.Fatalf("%s: expected one version, got %d", f, len(crd.Spec.Versions))
		}
		// The internal version keeps a schema shared by all versions at the top level.
		validation := crd.Spec.Validation
		if crd.Spec.Versions[0].Schema != nil {
			validation = crd.Spec.Versions[0].Schema
		}
		props := validation.OpenAPIV3Schema
		structural, err := structuralschema.NewStructural(props)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		schemas[crd.Spec.Names.Kind] = crdSchema{
			structural: structural,
			validator:  validator,
			cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
		}
	}
	return schemas
}

// validate runs the OpenAPI and CEL checks of the API server on obj, after defaulting it.
// Like the API server, it evaluates the CEL rules only when the OpenAPI checks pass.
func (s crdSchema) validate(obj map[string]any) field.ErrorList {
	structuraldefaulting.Default(obj, s.structural)
	if errs := apiservervalidation.ValidateCustomResource(nil, obj, s.validator); len(errs) > 0 {
		return errs
	}
	errs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return errs
}

// TestCRDSchemasOffline runs the admission cases through the API server's validation code
// without a cluster: a fast check of the CRDs and of the cases themselves.
func TestCRDSchemasOffline(t *testing.T) {
	schemas := loadCRDSchemas(t)
	for _, kind := range []string{"Serverless", "DockerRegistry", "Function"} {
		if _, ok := schemas[kind]; !ok {
			t.Fatalf("no CRD for %s", kind)
		}
	}

	refusals := map[string][]refusal{
		"Serverless":     invalidServerlessSpecs,
		"Function":       invalidFunctionSpecs,
		"DockerRegistry": invalidDockerRegistrySpecs,
	}
	for kind, cases := range refusals {
		for _, c := range cases {
			t.Run(kind+"/refuses "+c.name, func(t *testing.T) {
				spec := parseYAML(t, c.spec)
				errs := schemas[kind].validate(map[string]any{"spec": spec})
				if len(errs) == 0 {
					t.Fatalf("accepted:\n%s", c.spec)
				}
				msg := errs.ToAggregate().Error()
				if !strings.Contains(msg, c.message) {
					t.Fatalf("message %q does not contain %q", msg, c.message)
				}
			})
		}
	}

	for _, c := range validManifests {
		t.Run("accepts "+c.name, func(t *testing.T) {
			obj := parseYAML(t, c.manifest)
			kind, _ := obj["kind"].(string)
			if errs := schemas[kind].validate(obj); len(errs) > 0 {
				t.Fatalf("refused: %v", errs.ToAggregate())
			}
		})
	}

	samples, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples in %s (%v)", samplesDir, err)
	}
	for _, f := range samples {
		t.Run("accepts sample "+filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			obj := parseYAML(t, string(data))
			kind, _ := obj["kind"].(string)
			s, ok := schemas[kind]
			if !ok {
				t.Fatalf("no CRD for kind %q", kind)
			}
			if errs := s.validate(obj); len(errs) > 0 {
				t.Fatalf("refused: %v", errs.ToAggregate())
			}
		})
	}
}

// parseYAML decodes like the API server: whole numbers become int64, not float64.
func parseYAML(t *testing.T, doc string) map[string]any {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := utiljson.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}
