// Package cluster runs a real, local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) with kwok simulating
// the nodes, for integration tests, benchmarks and local development.
//
// Binaries are built from their official Go modules into a cache outside the
// checkout (see EnsureBinaries). No container ever runs: kwok moves Pods through
// their lifecycle.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure Start. The zero value is a usable default.
type Options struct {
	Nodes       int // kwok nodes, default 3
	PodsPerNode int // node capacity/allocatable pods, default 1000
	// ControlPlaneQPS is --kube-api-qps of kube-controller-manager and
	// kube-scheduler (burst is twice that); 0 means DefaultControlPlaneQPS. Their
	// built-in default of 20 makes large rollouts take minutes.
	ControlPlaneQPS int
	AuditLog        bool   // apiserver audit log (Metadata level, JSON lines) in the state dir
	Dir             string // state dir (certs, kubeconfig, logs, pids); default: a new temp dir, removed by Stop
	Detach          bool   // processes outlive the caller; otherwise they die with it
	Log             io.Writer
}

// DefaultControlPlaneQPS is used when Options.ControlPlaneQPS is 0.
const DefaultControlPlaneQPS = 300

// EnvKubeconfig makes ForSuite attach to a running cluster instead of starting one.
const EnvKubeconfig = "LOCAL_CLUSTER_KUBECONFIG"

// envKeepState keeps a temporary state dir (logs, audit log) after Stop.
const envKeepState = "LOCAL_CLUSTER_KEEP_STATE"

const (
	serviceCIDR = "10.96.0.0/16" // room for a Service per Function in the benchmarks
	podCIDR     = "10.244.0.0/16"
	// KwokNodeAnnotation marks the Nodes kwok manages.
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	stopGrace          = 10 * time.Second
	readyTimeout       = 2 * time.Minute
)

var serviceIP = net.ParseIP("10.96.0.1")

func (o Options) withDefaults() Options {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.PodsPerNode <= 0 {
		o.PodsPerNode = 1000
	}
	if o.ControlPlaneQPS <= 0 {
		o.ControlPlaneQPS = DefaultControlPlaneQPS
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	return o
}

// Cluster is a running (or attached) local control plane.
type Cluster struct {
	dir        string
	removeDir  bool
	kubeconfig string
	auditLog   string
	qps        int
	cfg        *rest.Config
	attached   bool
	detached   bool
	log        io.Writer

	procs    []*process
	launcher *launcher

	stopOnce sync.Once
	stopErr  error
}

// KubeconfigPath is an admin (system:masters) kubeconfig.
func (c *Cluster) KubeconfigPath() string { return c.kubeconfig }

// RESTConfig returns a new copy of the admin config on each call. Its QPS and
// Burst are left at zero, so each client library applies its own default.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// AuditLogPath is the apiserver audit log, or "" when auditing is off.
func (c *Cluster) AuditLogPath() string { return c.auditLog }

// ControlPlaneQPS is the --kube-api-qps the controllers run with (0 if unknown
// for an attached cluster), so benchmarks can report it.
func (c *Cluster) ControlPlaneQPS() int { return c.qps }

// StateDir holds certificates, kubeconfigs, logs and the pid file.
func (c *Cluster) StateDir() string { return c.dir }

// ForSuite attaches to the cluster named by $LOCAL_CLUSTER_KUBECONFIG, or starts a
// new one. Test suites call it in BeforeSuite and Stop in AfterSuite.
func ForSuite(ctx context.Context, opts Options) (*Cluster, error) {
	if kc := os.Getenv(EnvKubeconfig); kc != "" {
		return Attach(kc)
	}
	return Start(ctx, opts)
}

// Attach uses a running cluster; its Stop does nothing. The audit log and QPS
// setting are known when the kubeconfig lies in a state dir made by Start.
func Attach(kubeconfigPath string) (*Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfigPath, err)
	}
	c := &Cluster{dir: filepath.Dir(kubeconfigPath), kubeconfig: kubeconfigPath, cfg: cfg, attached: true, log: io.Discard}
	if st, err := readState(c.dir); err == nil {
		c.auditLog = st.AuditLog
		c.qps = st.ControlPlaneQPS
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := checkReadyz(ctx, cfg); err != nil {
		return nil, fmt.Errorf("attaching to %s: %w", kubeconfigPath, err)
	}
	return c, nil
}

// errPortInUse marks a start attempt that lost a race for a free port.
var errPortInUse = errors.New("port already in use")

// ErrAlreadyRunning is returned by Start when the state dir belongs to a cluster
// that is still running.
var ErrAlreadyRunning = errors.New("a local cluster is already running in this state dir")

// Start builds or reuses the binaries and starts a control plane with
// opts.Nodes Ready kwok nodes. ctx bounds only the start-up: the processes run
// until Stop (or, unless detached, until the calling process exits).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	bins, err := EnsureBinaries(ctx, opts.Log)
	if err != nil {
		return nil, err
	}

	dir, removeDir := opts.Dir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "localcluster-"); err != nil {
			return nil, fmt.Errorf("creating state dir: %w", err)
		}
		removeDir = os.Getenv(envKeepState) == ""
	} else {
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("resolving state dir: %w", err)
		}
		if st, err := ReadState(dir); err == nil && st.Running() {
			return nil, fmt.Errorf("%w: %s (pids %s)", ErrAlreadyRunning, dir, st.pidSummary())
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating state dir: %w", err)
		}
	}

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		c, err := startOnce(ctx, opts, bins, dir)
		if err == nil {
			c.removeDir = removeDir
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(opts.Log, "local cluster: %v; retrying with other ports\n", err)
	}
	return nil, fmt.Errorf("starting local cluster (state and logs kept in %s): %w", dir, lastErr)
}

type ports struct{ etcdClient, etcdPeer, apiserver int }

// freePorts asks the kernel for distinct free loopback ports. Another process may
// grab one before the component binds it; Start retries in that case.
func freePorts() (ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var got []int
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		got = append(got, l.Addr().(*net.TCPAddr).Port)
	}
	return ports{etcdClient: got[0], etcdPeer: got[1], apiserver: got[2]}, nil
}

func startOnce(ctx context.Context, opts Options, bins Binaries, dir string) (_ *Cluster, err error) {
	t0 := time.Now()
	pk, err := newPKI(serviceIP)
	if err != nil {
		return nil, err
	}
	pkiDir := filepath.Join(dir, "pki")
	files, err := pk.write(pkiDir)
	if err != nil {
		return nil, err
	}
	pt, err := freePorts()
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating log dir: %w", err)
	}
	etcdData := filepath.Join(dir, "etcd")
	if err := os.RemoveAll(etcdData); err != nil {
		return nil, fmt.Errorf("cleaning etcd data dir: %w", err)
	}

	server := "https://127.0.0.1:" + strconv.Itoa(pt.apiserver)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kubeconfigs := []struct {
		path string
		kp   keyPair
	}{
		{kubeconfig, pk.Admin},
		{filepath.Join(pkiDir, "kube-controller-manager.kubeconfig"), pk.KCM},
		{filepath.Join(pkiDir, "kube-scheduler.kubeconfig"), pk.Scheduler},
		{filepath.Join(pkiDir, "kwok.kubeconfig"), pk.Kwok},
	}
	for _, k := range kubeconfigs {
		if err := writeKubeconfig(k.path, server, pk.CA.CertPEM, k.kp); err != nil {
			return nil, err
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading generated kubeconfig: %w", err)
	}

	c := &Cluster{
		dir:        dir,
		kubeconfig: kubeconfig,
		qps:        opts.ControlPlaneQPS,
		cfg:        cfg,
		detached:   opts.Detach,
		log:        opts.Log,
	}
	if opts.AuditLog {
		c.auditLog = filepath.Join(dir, "audit.log")
		_ = os.Remove(c.auditLog)
		if err := os.WriteFile(filepath.Join(dir, "audit-policy.yaml"), []byte(auditPolicy), 0o644); err != nil {
			return nil, fmt.Errorf("writing audit policy: %w", err)
		}
	}
	if !opts.Detach {
		c.launcher = newLauncher()
	}
	defer func() {
		if err != nil {
			if stopErr := c.stopProcesses(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()

	fmt.Fprintf(opts.Log, "local cluster: starting in %s (apiserver %s)\n", dir, server)

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(pt.etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(pt.etcdPeer)
	etcd, err := c.run("etcd", bins.Etcd,
		"--name=localcluster",
		"--data-dir="+etcdData,
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=localcluster="+peerURL,
		// Throwaway data: fsync would only slow every write down.
		"--unsafe-no-fsync=true",
		"--quota-backend-bytes="+strconv.Itoa(8<<30),
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 30*time.Second, "etcd health", []*process{etcd}, func(ctx context.Context) (bool, error) {
		return etcdHealthy(ctx, etcdURL), nil
	}); err != nil {
		return nil, err
	}
	tEtcd := time.Since(t0)

	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The endpoint reconciler refuses a loopback advertise address, and no
		// Pod could reach the API server through the kubernetes Service anyway.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(pt.apiserver),
		"--tls-cert-file=" + files.ServingCert,
		"--tls-private-key-file=" + files.ServingKey,
		"--client-ca-file=" + files.CACert,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=PodSecurity",
		"--allow-privileged=true",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + files.SAPub,
		"--service-account-signing-key-file=" + files.SAKey,
		"--profiling=false",
	}
	if c.auditLog != "" {
		apiArgs = append(apiArgs,
			"--audit-policy-file="+filepath.Join(dir, "audit-policy.yaml"),
			"--audit-log-path="+c.auditLog,
			"--audit-log-format=json",
			// Rotation would split the log that CountAuditRequests reads.
			"--audit-log-maxsize=0",
		)
	}
	apiserver, err := c.run("kube-apiserver", bins.KubeAPIServer, apiArgs...)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, readyTimeout, "kube-apiserver /readyz", []*process{etcd, apiserver}, func(ctx context.Context) (bool, error) {
		return checkReadyz(ctx, cfg) == nil, nil
	}); err != nil {
		return nil, err
	}
	tAPI := time.Since(t0)

	qps, burst := strconv.Itoa(opts.ControlPlaneQPS), strconv.Itoa(2*opts.ControlPlaneQPS)
	kcm, err := c.run("kube-controller-manager", bins.KubeControllerManager,
		"--kubeconfig="+kubeconfigs[1].path,
		"--controllers=*,-nodeipam",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+files.SAKey,
		"--root-ca-file="+files.CACert,
		"--cluster-signing-cert-file="+files.CACert,
		"--cluster-signing-key-file="+files.CAKey,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps="+qps,
		"--kube-api-burst="+burst,
		"--profiling=false",
	)
	if err != nil {
		return nil, err
	}
	scheduler, err := c.run("kube-scheduler", bins.KubeScheduler,
		"--kubeconfig="+kubeconfigs[2].path,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps="+qps,
		"--kube-api-burst="+burst,
		"--profiling=false",
	)
	if err != nil {
		return nil, err
	}
	kwok, err := c.run("kwok", bins.Kwok,
		"--kubeconfig="+kubeconfigs[3].path,
		"--config="+bins.KwokStages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"=fake",
		// Without Lease heartbeats the node lifecycle controller marks every Pod
		// NotReady after ~40 s.
		"--node-lease-duration-seconds=40",
		"--cidr="+podCIDR,
	)
	if err != nil {
		return nil, err
	}

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	names, err := createNodes(ctx, cs, opts.Nodes, opts.PodsPerNode)
	if err != nil {
		return nil, err
	}
	all := []*process{etcd, apiserver, kcm, scheduler, kwok}
	if err := waitFor(ctx, readyTimeout, fmt.Sprintf("%d Ready nodes", len(names)), all, func(ctx context.Context) (bool, error) {
		return nodesReady(ctx, cs, names)
	}); err != nil {
		return nil, err
	}
	// The default ServiceAccount shows the controller manager is working, and
	// Pods in "default" cannot be created without it.
	if err := waitFor(ctx, readyTimeout, "the default ServiceAccount", all, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, nil
	}); err != nil {
		return nil, err
	}

	audit := "off"
	if c.auditLog != "" {
		audit = c.auditLog
	}
	fmt.Fprintf(opts.Log, "local cluster: ready in %s (etcd %s, apiserver %s; nodes=%d pods/node=%d; control-plane qps=%d burst=%d; audit=%s; kubeconfig %s)\n",
		roundDuration(time.Since(t0)), roundDuration(tEtcd), roundDuration(tAPI), opts.Nodes, opts.PodsPerNode,
		opts.ControlPlaneQPS, 2*opts.ControlPlaneQPS, audit, kubeconfig)
	return c, nil
}

// run starts a component and records its pid before anything can go wrong, so a
// failed start can still be cleaned up from the pid file.
func (c *Cluster) run(name, exe string, args ...string) (*process, error) {
	p, err := startProcess(c.launcher, c.detached, name, exe, filepath.Join(c.dir, "logs", name+".log"), args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	if err := c.saveState(); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Cluster) saveState() error {
	return writeState(c.dir, &stateFile{
		Kubeconfig:      c.kubeconfig,
		AuditLog:        c.auditLog,
		ControlPlaneQPS: c.qps,
		Detached:        c.detached,
		Processes:       c.procs,
	})
}

// Stop stops the components in order (kwok, scheduler, controller manager, API
// server, etcd) and verifies that none is left. It removes a state dir that Start
// created itself. For an attached cluster it does nothing. Safe to call twice.
func (c *Cluster) Stop() error {
	if c == nil || c.attached {
		return nil
	}
	c.stopOnce.Do(func() {
		c.stopErr = c.stopProcesses()
		if c.stopErr != nil {
			return
		}
		_ = os.Remove(filepath.Join(c.dir, stateFileName))
		if c.removeDir {
			if err := os.RemoveAll(c.dir); err != nil {
				c.stopErr = fmt.Errorf("removing state dir: %w", err)
			}
		} else if os.Getenv(envKeepState) != "" {
			fmt.Fprintf(c.log, "local cluster: state kept in %s\n", c.dir)
		}
	})
	return c.stopErr
}

func (c *Cluster) stopProcesses() error {
	err := stopAll(c.procs, stopGrace)
	if err != nil {
		return fmt.Errorf("stopping local cluster (%s): %w", pidList(c.procs), err)
	}
	if c.launcher != nil {
		c.launcher.close()
		c.launcher = nil
	}
	return nil
}

// waitFor polls cond until it holds, failing early with the log tail of any
// watched process that exits in the meantime.
func waitFor(ctx context.Context, timeout time.Duration, what string, watch []*process, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range watch {
			if !p.alive() {
				return processExited(p)
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := cond(pctx)
		pcancel()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func processExited(p *process) error {
	logTail := ""
	if b, err := os.ReadFile(p.Log); err == nil {
		logTail = tail(string(b), 20)
	}
	err := fmt.Errorf("%s exited during start-up (log %s):\n%s", p.Name, p.Log, logTail)
	if strings.Contains(logTail, "address already in use") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

func etcdHealthy(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func checkReadyz(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("apiserver not ready: %w", err)
	}
	return nil
}

func writeKubeconfig(path, server string, caPEM []byte, kp keyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["localcluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["localcluster"] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.CertPEM, ClientKeyData: kp.KeyPEM}
	cfg.Contexts["localcluster"] = &clientcmdapi.Context{Cluster: "localcluster", AuthInfo: "localcluster"}
	cfg.CurrentContext = "localcluster"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

func createNodes(ctx context.Context, cs kubernetes.Interface, n, podsPerNode int) ([]string, error) {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("1000"),
		corev1.ResourceMemory:           resource.MustParse("4Ti"),
		corev1.ResourceEphemeralStorage: resource.MustParse("10Ti"),
		corev1.ResourcePods:             *resource.NewQuantity(int64(podsPerNode), resource.DecimalSI),
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Annotations: map[string]string{
					KwokNodeAnnotation:             "fake",
					"node.alpha.kubernetes.io/ttl": "0",
				},
				Labels: map[string]string{
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
					"type":                   "kwok",
				},
			},
			Status: corev1.NodeStatus{
				Capacity:    resources.DeepCopy(),
				Allocatable: resources.DeepCopy(),
			},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating node %s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

func nodesReady(ctx context.Context, cs kubernetes.Interface, names []string) (bool, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		// Not ready yet: the poll retries until its deadline.
		return false, nil //nolint:nilerr
	}
	ready := map[string]bool{}
	for _, n := range list.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready[n.Name] = true
			}
		}
	}
	for _, n := range names {
		if !ready[n] {
			return false, nil
		}
	}
	return true, nil
}
