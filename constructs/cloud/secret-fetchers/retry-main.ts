/**
 * The part every secret fetcher shares: argument handling and retries with
 * backoff until MESOS_CLUSTER_SECRET_TIMEOUT (identities, policies and
 * secrets take a while to propagate after an apply). Expects `fetch(name)`,
 * `TIMEOUT` and the `sys`/`time` imports above it.
 */
export const RETRY_MAIN = String.raw`def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: fetch-cluster-secret NAME\n")
        return 2
    deadline = time.time() + TIMEOUT
    delay = 2.0
    while True:
        try:
            sys.stdout.write(fetch(sys.argv[1]))
            return 0
        except Exception as error:  # any failure is retried until the deadline
            if time.time() + delay > deadline:
                sys.stderr.write("fetch-cluster-secret: %s: %s\n" % (sys.argv[1], error))
                return 1
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


if __name__ == "__main__":
    sys.exit(main())
`;
