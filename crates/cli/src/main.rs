//! `rolecall`: the companion CLI. When the desktop app (or `rolecall agent`) runs, it asks it
//! over the agent socket, so one sign-in serves both; otherwise it uses the engine itself with
//! the sign-in kept in the OS keychain.

mod backend;
mod commands;
mod complete;
mod ecr;
mod exec;
mod keys;
mod kube;
mod kube_yaml;
mod prompt;
mod status;

use std::process::ExitCode;

/// Every heap block is wiped when it is freed: the copies of a secret that pass through
/// buffers on their way in and out (HTTP, JSON, strings on the way into `Secret`) leave
/// nothing behind once they are dropped.
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (AWS refused, network, long-term keys found by `audit`)
  2  wrong usage
  3  sign-in required: run `rolecall login`
  4  unknown session, account or role
  5  the config file needs fixing
`rolecall exec` exits with the command's own status (128 + N when signal N ended it; 126 when
it cannot be run, 127 when it is not found), or with one of the codes above before it runs.";

/// AWS temporary credentials from IAM Identity Center: no long-term keys, no credentials file.
#[derive(Debug, Parser)]
#[command(name = "rolecall", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The SSO session to use (needed when several are configured).
    #[arg(long, global = true, env = "ROLECALL_SESSION", add = ArgValueCompleter::new(complete::sessions))]
    session: Option<String>,
    /// Do not ask a running Rolecall app; use the engine in this process.
    #[arg(long, global = true)]
    no_agent: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List accounts and roles (from the cached catalogue; --refresh sweeps the portal).
    Ls {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        refresh: bool,
    },
    /// Print credentials as environment variables for a shell.
    #[command(after_help = "Example: eval \"$(rolecall env payments-prod AdministratorAccess)\"")]
    Env {
        #[command(flatten)]
        target: RoleArgs,
        /// sh (bash, zsh), fish, pwsh, cmd or dotenv; default from the config. Also the formats
        /// of `aws configure export-credentials`, in its shapes: process, env, env-no-export,
        /// powershell, windows-cmd.
        #[arg(long, short)]
        format: Option<String>,
        /// Also set AWS_REGION and AWS_DEFAULT_REGION.
        #[arg(long)]
        region: Option<String>,
        /// Print the local credential endpoint's variables instead of keys: SDKs then fetch and
        /// refresh credentials by themselves. Needs the Rolecall app or `rolecall agent`.
        #[arg(long)]
        endpoint: bool,
        /// With --endpoint: write the grant's token to this file (readable by you alone) and
        /// print AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE instead of the token, so no token sits
        /// in an environment (`docker inspect`, /proc). Current SDKs and AWS CLIs read it.
        #[arg(long, value_name = "PATH", requires = "endpoint")]
        token_file: Option<std::path::PathBuf>,
    },
    /// Run a command with a role's credentials in its environment.
    #[command(
        after_help = "Examples:\n  rolecall exec payments-prod ReadOnly -- aws s3 ls\n  rolecall exec --endpoint payments-prod Deploy -- terraform apply"
    )]
    Exec {
        #[command(flatten)]
        target: RoleArgs,
        /// Give the command the local credential endpoint's variables instead of keys: SDKs
        /// renew credentials by themselves, for jobs longer than a role session. The grant is
        /// revoked when the command ends. Needs the Rolecall app or `rolecall agent`.
        #[arg(long)]
        endpoint: bool,
        /// With --endpoint: the token in a file of its own (readable by you alone, removed when
        /// the command ends), named by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, not in the
        /// command's environment. Current SDKs and AWS CLIs read it; older ones (such as
        /// Debian 12's AWS CLI 2.9) do not.
        #[arg(long, requires = "endpoint")]
        token_file: bool,
        /// AWS_REGION and AWS_DEFAULT_REGION; default: the environment's, else the session's.
        #[arg(long)]
        region: Option<String>,
        /// Run even inside another role's `rolecall exec` (or `rolecall env`).
        #[arg(long)]
        nest: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<std::ffi::OsString>,
    },
    /// Print the role this shell's credentials are for and their time left (for a prompt);
    /// nothing when the shell holds no Rolecall credentials. Reads the environment only.
    #[command(
        after_help = "Example (bash): PS1='$(rolecall prompt --format \"[{account}/{role} {left}] \")'$PS1"
    )]
    Prompt {
        /// Placeholders: {account}, {account_id}, {role}, {left}, {expires}.
        #[arg(long, default_value = status::PROMPT_FORMAT)]
        format: String,
    },
    /// Sessions and the roles whose credentials the app holds, with time left.
    Status {
        /// JSON, for status bars (Waybar, Polybar, i3blocks).
        #[arg(long)]
        json: bool,
    },
    /// Kubernetes on EKS: tokens for kubectl.
    #[command(subcommand)]
    Eks(EksCommand),
    /// Add (or update) a cluster, a user and a context in ~/.kube/config (KUBECONFIG honoured)
    /// that get kubectl its tokens from `rolecall eks token`; the context becomes current.
    #[command(
        after_help = "Example: rolecall kubeconfig --cluster prod --server https://ABC.gr7.eu-west-1.eks.amazonaws.com --certificate-authority-data LS0t... payments-prod AdministratorAccess"
    )]
    Kubeconfig {
        #[arg(long)]
        cluster: String,
        /// The cluster's API server URL.
        #[arg(long)]
        server: String,
        /// The cluster's CA bundle, base64 (as `aws eks describe-cluster` gives it).
        #[arg(long)]
        certificate_authority_data: Option<String>,
        #[command(flatten)]
        target: RoleArgs,
        /// The cluster's region (default: the session's).
        #[arg(long)]
        region: Option<String>,
        /// The context's name (default: rolecall-CLUSTER-ACCOUNT-ROLE).
        #[arg(long)]
        context: Option<String>,
        /// The kubeconfig to change (default: the first file of KUBECONFIG, else ~/.kube/config).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Container registries (ECR): Docker passwords from a role.
    #[command(subcommand)]
    Ecr(EcrCommand),
    /// The Docker credential helper protocol (get, list, store, erase on standard input and
    /// output): what `docker-credential-rolecall` runs.
    #[command(hide = true)]
    DockerCredential { op: String },
    /// Print credentials as `credential_process` JSON (version 1), for ~/.aws/config.
    CredentialProcess {
        #[command(flatten)]
        target: RoleArgs,
    },
    /// Open the AWS console signed in as a role.
    Console {
        #[command(flatten)]
        target: RoleArgs,
        /// Console service to open (ec2, s3, ...); default: the role's destination, else the
        /// console home.
        #[arg(long, conflicts_with = "path")]
        service: Option<String>,
        /// A console path to open (/ec2/home#Instances:), as copied from the address bar.
        #[arg(long)]
        path: Option<String>,
        /// Console region (default: the role's own, then console_region, then the session's).
        #[arg(long)]
        region: Option<String>,
        /// How the console opens: multi-session (beside the identities already signed in),
        /// container (a Firefox container per account), profile (a browser profile per
        /// account) or switch (sign the browser out first). Default: the [console] setting.
        #[arg(long, value_parser = parse_mode)]
        mode: Option<Mode>,
        /// Console session length in seconds (900 to 43200; chained roles get one hour).
        #[arg(long, value_parser = clap::value_parser!(u64).range(900..=43_200))]
        session_seconds: Option<u64>,
        /// Open even when the browser already holds the five identities multi-session allows.
        #[arg(long)]
        force: bool,
        /// Print the sign-in URL instead of opening it (it signs in whoever opens it: keep it
        /// private). Without it the browser gets a one-time link to 127.0.0.1 that leads there,
        /// so the sign-in token never sits in a process's arguments.
        #[arg(long)]
        print: bool,
    },
    /// Open a rolecall:// link (rolecall://console?account=...&role=...&path=...&region=...):
    /// the console it names, after asking (the link may come from anyone).
    Open {
        link: String,
        /// Open without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Show who a role's credentials are (STS GetCallerIdentity).
    Whoami {
        #[command(flatten)]
        target: RoleArgs,
    },
    /// Sign in to an SSO session (PKCE in the browser; --device-code to type a code instead).
    Login {
        #[arg(add = ArgValueCompleter::new(complete::sessions))]
        session: Option<String>,
        #[arg(long)]
        device_code: bool,
    },
    /// Sign out of an SSO session: portal logout, keychain item removed, credentials wiped.
    Logout {
        #[arg(add = ArgValueCompleter::new(complete::sessions))]
        session: Option<String>,
    },
    /// Manage SSO sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Write `credential_process` profiles into ~/.aws/config, inside Rolecall's marked block.
    Profiles {
        /// Every role of the session(s).
        #[arg(long)]
        all: bool,
        /// A role as ACCOUNT/ROLE (account name, id or alias); repeatable.
        #[arg(long = "role", value_name = "ACCOUNT/ROLE")]
        roles: Vec<String>,
        /// The region written into each profile.
        #[arg(long)]
        region: Option<String>,
        /// Show the change without writing it.
        #[arg(long)]
        dry_run: bool,
        /// The AWS config file (default: AWS_CONFIG_FILE or ~/.aws/config).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// List the grants of the local credential endpoint (needs the app or `rolecall agent`).
    Grants,
    /// Revoke a grant of the local credential endpoint.
    Revoke { id: String },
    /// Find long-term access keys (AKIA...) in ~/.aws, the environment, shell histories and
    /// the folders given; exit 1 when any is found.
    Audit {
        /// Also every text file under this folder (repeatable); `.git` and links are skipped.
        #[arg(long = "path", value_name = "DIR")]
        paths: Vec<std::path::PathBuf>,
        /// A JSON report, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Move a profile off its long-term access key: the profile of the same name gets
    /// temporary credentials from IAM Identity Center (`credential_process`), and the key leaves
    /// ~/.aws/credentials (a backup is kept). `--deactivate` then makes the key inactive in IAM.
    Retire {
        /// The profile (section) whose key to retire.
        profile: String,
        /// The role the profile gets, in the key's account (asked when not given).
        #[arg(long)]
        role: Option<String>,
        /// The key's account (name or id), when STS should not be asked.
        #[arg(long)]
        account: Option<String>,
        /// Do it without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Show the change to both files and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Then make the key inactive in IAM (never deleted).
        #[arg(long)]
        deactivate: bool,
        /// The role (in the key's account) allowed to change IAM keys, when not --role.
        #[arg(long, value_name = "ROLE")]
        deactivate_with: Option<String>,
    },
    /// Print the shell code that completes rolecall's commands, sessions, accounts and roles.
    #[command(
        after_help = "bash:  source <(rolecall completions bash)     (in ~/.bashrc)\nzsh:   source <(rolecall completions zsh)      (in ~/.zshrc)\nfish:  rolecall completions fish | source   (in ~/.config/fish/config.fish)"
    )]
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish", "elvish", "powershell"])]
        shell: String,
    },
    /// Write the manual pages (rolecall.1 and one per subcommand) into a folder.
    #[command(hide = true)]
    Man { dir: std::path::PathBuf },
    /// Serve the agent socket and the local credential endpoint in the foreground (what the
    /// desktop app does in the background).
    Agent,
}

#[derive(Debug, Subcommand)]
pub enum EcrCommand {
    /// Map an ECR registry to a role and name `rolecall` as its Docker credential helper in
    /// ~/.docker/config.json (DOCKER_CONFIG honoured), keeping the rest of the file.
    #[command(
        after_help = "Then `docker pull 111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1` asks docker-credential-rolecall, which asks ECR with the role's credentials."
    )]
    Login {
        #[command(flatten)]
        target: RoleArgs,
        /// The registry's region (default: the session's); ignored with --registry.
        #[arg(long)]
        region: Option<String>,
        /// The registry host (default: the account's registry in the region).
        #[arg(long)]
        registry: Option<String>,
        /// Docker's config folder (default: DOCKER_CONFIG, else ~/.docker).
        #[arg(long)]
        docker_config: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EksCommand {
    /// Print an ExecCredential (client.authentication.k8s.io/v1beta1) with an EKS token for
    /// the cluster, signed with the role's credentials: what kubectl's exec plugin runs.
    Token {
        #[arg(long)]
        cluster: String,
        #[command(flatten)]
        target: RoleArgs,
        /// The cluster's region (default: the session's).
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Add (or replace) a session.
    Add {
        name: String,
        #[arg(long)]
        start_url: String,
        /// Guessed from the start URL when it can be.
        #[arg(long)]
        region: Option<String>,
    },
    /// List sessions and their sign-in state.
    Ls,
    /// A session's settings and the SSO OIDC, portal and STS endpoints it will use (FIPS and
    /// dual-stack included).
    Show { name: String },
    /// Remove a session (and sign it out).
    Rm { name: String },
    /// Import the sso-session sections of ~/.aws/config.
    Import {
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

/// The command line; run as `docker-credential-rolecall OP` (a link to this binary, or the
/// .deb's wrapper), it is `rolecall docker-credential OP`.
fn args() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "docker-credential-rolecall");
    if invoked {
        args.splice(0..1, ["rolecall".into(), "docker-credential".into()]);
    }
    args
}

fn main() -> ExitCode {
    // Before any secret exists: no core file, not dumpable, not attachable by the user's other
    // processes (the agent lives for hours with every token in memory).
    rolecall_core::hardening::keep_secrets_in_this_process();
    // `COMPLETE=<shell> rolecall -- <words>`: the shell asking for completions.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    rolecall_core::logging::init("warn");
    let cli = Cli::parse_from(args());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rolecall: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "rolecall: {}",
                rolecall_engine::text::printable(&e.to_string())
            );
            ExitCode::from(commands::exit_code(&e))
        }
    }
}

/// A console mode on the command line.
#[derive(Debug, Clone, Copy)]
pub struct Mode(pub rolecall_engine::browser::ConsoleMode);

fn parse_mode(s: &str) -> Result<Mode, String> {
    rolecall_engine::browser::ConsoleMode::from_name(s).map(Mode)
}

/// The role a command acts on: an account (name, id or alias) and a role in it.
#[derive(Debug, Clone, clap::Args)]
pub struct RoleArgs {
    /// Account name, id or alias.
    #[arg(add = ArgValueCompleter::new(complete::accounts))]
    pub account: String,
    /// Role name (or a chain's name).
    #[arg(add = ArgValueCompleter::new(complete::roles))]
    pub role: String,
}
