// The AWS SDK for JavaScript v3 gets credentials from one of its own providers and asks the
// simulator's STS who it is. Usage: node identity.mjs <provider> [profile]
// Prints {"arn", "accessKeyId", "expiration"} as JSON; a provider's error goes to stderr with
// exit code 1.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import {
  fromContainerMetadata,
  fromEnv,
  fromHttp,
  fromIni,
  fromProcess,
} from "@aws-sdk/credential-providers";

const [provider, profile] = process.argv.slice(2);
const providers = {
  process: () => fromProcess({ profile }),
  ini: () => fromIni({ profile }),
  env: () => fromEnv(),
  http: () => fromHttp({}),
  container: () => fromContainerMetadata({ timeout: 5000, maxRetries: 0 }),
};
if (!providers[provider]) {
  console.error(`unknown provider ${provider}`);
  process.exit(2);
}
try {
  const credentials = await providers[provider]()();
  const sts = new STSClient({
    region: "us-east-1",
    endpoint: process.env.ROLECALL_TEST_STS,
    credentials,
    maxAttempts: 1,
  });
  const who = await sts.send(new GetCallerIdentityCommand({}));
  console.log(
    JSON.stringify({
      arn: who.Arn,
      accessKeyId: credentials.accessKeyId,
      expiration: credentials.expiration ? credentials.expiration.toISOString() : null,
    }),
  );
} catch (e) {
  console.error(`${e.name}: ${e.message}`);
  process.exit(1);
}
