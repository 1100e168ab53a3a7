// Command serverless-operator installs and manages the Serverless module.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kyma-serverless/serverless/controllers/serverless"
)

func main() {
	o := serverless.ManagerOptions{}
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address of the health probe endpoint; 0 disables it.")
	flag.StringVar(&o.ChartDir, "chart-dir", envOr("SERVERLESS_CHART_DIR", "/charts/serverless"), "Directory of the Serverless chart to install.")
	flag.BoolVar(&o.LeaderElect, "leader-elect", false, "Enable leader election so that only one replica reconciles.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	mgr, err := serverless.NewManager(ctrl.GetConfigOrDie(), o)
	if err != nil {
		log.Error(err, "Unable to start serverless-operator")
		os.Exit(1)
	}
	log.Info("Starting serverless-operator", "chart", o.ChartDir)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "serverless-operator stopped with an error")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
