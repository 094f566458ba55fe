namespace Serverless.Durable.Http;

/// <summary>
/// Settings of the durable HTTP management API. Defaults match Durable Functions' webhooks, so clients
/// written for Durable Functions (polling the <c>Location</c> header, following <c>statusQueryGetUri</c>) work unchanged.
/// </summary>
public sealed class DurableHttpOptions
{
    /// <summary>The route prefix of every endpoint, Durable Functions' 2.x webhook path. Not configurable, so URLs stay portable.</summary>
    public const string RoutePrefix = "/runtime/webhooks/durabletask";

    /// <summary>
    /// The access key (Durable Functions' <c>systemKey</c>). When set, every request must carry it in the
    /// <c>x-functions-key</c> header or the <c>code</c> query parameter, or gets 401; generated URIs include
    /// <c>code=</c>. Default null: no key, for loopback development only.
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>The task hub name put into generated URIs (<c>taskHub=</c>) and accepted in the <c>taskHub</c>
    /// query parameter. Default null: the client's <see cref="DurableTaskClient.Name"/>.</summary>
    public string? TaskHubName { get; set; }

    /// <summary>The connection setting name put into generated URIs (<c>connection=</c>), as Durable Functions does.
    /// Default null: left out of the URIs.</summary>
    public string? ConnectionName { get; set; }

    /// <summary>
    /// Scheme, host and path base used for generated URIs, for hosts behind a proxy. Default null: taken
    /// from the request (scheme, host and path base).
    /// </summary>
    public Uri? BaseUri { get; set; }

    /// <summary><c>Retry-After</c> of a start response. Default 10 s, as Durable Functions.</summary>
    public TimeSpan StartRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>Retry-After</c> of a status response for an unfinished instance. Default 5 s, as Durable Functions
    /// (clients would otherwise poll in a tight loop).</summary>
    public TimeSpan StatusRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Page size of instance queries when the request has no <c>top</c>. Default 100.</summary>
    public int DefaultPageSize { get; set; } = 100;

    /// <summary>
    /// Orchestrators the management API refuses to start (403 with a JSON error): those whose input the host trusts, such
    /// as the pipeline orchestrator, whose input carries operator settings (paths, documents) that a request must not
    /// choose. The host's own code (its pipeline API, the CLI) still starts them. Names compare case-insensitively, as
    /// function names do. Default empty.
    /// </summary>
    public ISet<string> InternalOrchestrators { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Largest accepted request body (input or event payload), in bytes. Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;
}

/// <summary>The links returned when an instance is started (Durable Functions' <c>HttpManagementPayload</c>).</summary>
/// <param name="Id">Instance id.</param>
/// <param name="StatusQueryGetUri">GET: the instance's status.</param>
/// <param name="SendEventPostUri">POST: raise an event (replace <c>{eventName}</c>).</param>
/// <param name="TerminatePostUri">POST: terminate (replace <c>{text}</c> with a reason).</param>
/// <param name="SuspendPostUri">POST: suspend (replace <c>{text}</c>).</param>
/// <param name="ResumePostUri">POST: resume (replace <c>{text}</c>).</param>
/// <param name="PurgeHistoryDeleteUri">DELETE: purge the finished instance.</param>
public sealed record HttpManagementPayload(
    string Id,
    string StatusQueryGetUri,
    string SendEventPostUri,
    string TerminatePostUri,
    string SuspendPostUri,
    string ResumePostUri,
    string PurgeHistoryDeleteUri);
