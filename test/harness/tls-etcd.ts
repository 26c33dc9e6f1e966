import { makeTestCerts, type TestCerts } from "./certs.js";
import { EtcdCluster } from "./etcd.js";

/**
 * One etcd member that serves clients over TLS and asks for a client certificate
 * (--client-cert-auth), with throwaway certificates made for it; stop() removes both.
 */
export async function startClientCertEtcd(): Promise<{
  etcd: EtcdCluster;
  certs: TestCerts;
  stop(): Promise<void>;
}> {
  const certs = makeTestCerts();
  try {
    const etcd = await EtcdCluster.start({
      tls: {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        clientCertAuth: true,
        clientCertFile: certs.clientCertFile,
        clientKeyFile: certs.clientKeyFile,
      },
    });
    return {
      etcd,
      certs,
      stop: async () => {
        await etcd.stop();
        certs.remove();
      },
    };
  } catch (e) {
    certs.remove();
    throw e;
  }
}
