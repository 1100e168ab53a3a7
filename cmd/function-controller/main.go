// Command function-controller runs Functions as Deployments (buildless mode).
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

func main() {
	o := function.Options{}
	flag.StringVar(&o.ConfigNamespace, "config-namespace", envOr("CONFIG_NAMESPACE", function.DefaultConfigNamespace), "Namespace of the configuration ConfigMap.")
	flag.StringVar(&o.ConfigName, "config-name", functionconfig.ConfigMapName, "Name of the configuration ConfigMap (key config.yaml).")
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address of the health probe endpoint; 0 disables it.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", false, "Enable leader election so that only one replica reconciles.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", function.DefaultMaxConcurrentReconciles, "How many Functions are reconciled at once.")
	qps := flag.Float64("kube-api-qps", 50, "Queries per second to the API server.")
	burst := flag.Int("kube-api-burst", 100, "Burst of queries to the API server.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	mgr, err := function.NewManager(cfg, o)
	if err != nil {
		log.Error(err, "Unable to start function-controller")
		os.Exit(1)
	}
	log.Info("Starting function-controller", "config", o.ConfigNamespace+"/"+o.ConfigName)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "function-controller stopped with an error")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
