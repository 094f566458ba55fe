using Serverless.Hosting.Configuration;
using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting.GpuJobs;

/// <summary>
/// The GPU job queue: host.json <c>extensions.pipelines.trainerJobs</c> (the name the infrastructure's app settings already
/// use). With it, nodes of <see cref="Pool"/> become jobs on an Azure Storage queue that the trainer app works off; without
/// it (the embedded default) they run as ordinary activities.
/// </summary>
public sealed class TrainerJobOptions
{
    /// <summary>The keys of the <c>trainerJobs</c> section.</summary>
    public static readonly IReadOnlyList<string> Keys =
        ["queueName", "connectionStringName", "pool", "timeout", "callbackBaseUrl", "visibilityTimeout", "maxDequeueCount", "pollInterval", "checkpointPrefix", "queueLengthRefresh"];

    /// <summary>The Azure Storage queue (created on first use). Default <c>trainer-jobs</c>.</summary>
    public string QueueName { get; set; } = "trainer-jobs";

    /// <summary>The app setting with the storage connection string (<c>UseDevelopmentStorage=true</c> = Azurite). Default <c>AzureWebJobsStorage</c>.</summary>
    public string ConnectionStringName { get; set; } = "AzureWebJobsStorage";

    /// <summary>The pool whose nodes become jobs. Default <c>gpu</c>.</summary>
    public string Pool { get; set; } = "gpu";

    /// <summary>How long one attempt may take, queueing and training, before the job is submitted again (up to the node's
    /// <c>retry.max_attempts</c>). Default 6 h.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The function app's public base URL for the job callback (<c>sendEventPostUri</c>); default null: the address
    /// the app listens on (a worker-only host without HTTP must set it).</summary>
    public Uri? CallbackBaseUrl { get; set; }

    /// <summary>Trainer app: how long a leased job stays invisible; renewed every third of it while training, so a job whose
    /// worker died is visible again this long after its last renewal. Default 2 min.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Trainer app: a job handed out more often than this (its workers died each time) fails its node instead of
    /// being run again. Default 5.</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>Trainer app: how often an empty queue is polled. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where in the artifact store jobs keep their checkpoints (<c>{prefix}/{pipeline}/{node}/{executionId}/</c>), so a
    /// job resumed on another machine finds them. Default <c>_checkpoints</c>.</summary>
    public string CheckpointPrefix { get; set; } = "_checkpoints";

    /// <summary>How often a run whose job no worker has taken yet re-reads the queue's length for its status (a durable timer
    /// and one short activity each time); <c>0</c> = only at submission. Default 1 min.</summary>
    public TimeSpan QueueLengthRefresh { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The orchestrator's view of these settings.</summary>
    public TrainingJobSettings ToSettings() => new() { Pool = Pool, Timeout = Timeout, QueueLengthRefresh = QueueLengthRefresh };

    /// <summary>Reads a <c>trainerJobs</c> section; an unknown key or a bad value names the setting and the file.</summary>
    /// <exception cref="HostJsonException">A bad setting.</exception>
    public static TrainerJobOptions Load(HostJsonSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        section.RejectUnknownKeys(Keys);
        var o = new TrainerJobOptions();
        if (section.String("queueName") is { } queue)
        {
            // Azure's rule: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
            if (queue.Length is < 3 or > 63 || !queue.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') || queue[0] == '-' || queue[^1] == '-' || queue.Contains("--", StringComparison.Ordinal))
            {
                throw section.Error("queueName", $"'{queue}' is not a queue name (3-63 lower-case letters, digits and single hyphens)");
            }

            o.QueueName = queue;
        }

        if (section.String("connectionStringName") is { Length: > 0 } csn) o.ConnectionStringName = csn;
        if (section.String("pool") is { Length: > 0 } pool) o.Pool = pool;
        if (section.String("checkpointPrefix") is { Length: > 0 } prefix) o.CheckpointPrefix = prefix.Trim('/');
        if (Span(section, "timeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)) is { } timeout) o.Timeout = timeout;
        // Azure Storage queues hide a message for at most 7 days.
        if (Span(section, "visibilityTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)) is { } visibility) o.VisibilityTimeout = visibility;
        if (Span(section, "pollInterval", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10)) is { } poll) o.PollInterval = poll;
        if (Span(section, "queueLengthRefresh", TimeSpan.Zero, TimeSpan.FromDays(1)) is { } refresh) o.QueueLengthRefresh = refresh;
        if (section.Int("maxDequeueCount", 1, 1000) is { } max) o.MaxDequeueCount = max;
        if (section.String("callbackBaseUrl") is { } url)
        {
            o.CallbackBaseUrl = Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
                ? u
                : throw section.Error("callbackBaseUrl", $"'{url}' is not an absolute http(s) URL");
        }

        return o;
    }

    // Durations as elsewhere in extensions.pipelines: 500ms, 30s, 5m, 2h, 1d, bare seconds, or hh:mm:ss.
    private static TimeSpan? Span(HostJsonSection section, string name, TimeSpan min, TimeSpan max) =>
        section.String(name) is not { } text ? null
        : !Durations.TryParse(text, out var t) ? throw section.Error(name, $"'{text}' is not a duration (e.g. 30s, 500ms, 00:00:30)")
        : t < min || t > max ? throw section.Error(name, $"must lie between {min:c} and {max:c}; got {t:c}")
        : t;
}
