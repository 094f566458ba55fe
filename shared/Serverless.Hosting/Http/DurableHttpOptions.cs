namespace Serverless.Hosting.Http;

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
    /// query parameter. Default null: the client's <see cref="Microsoft.DurableTask.Client.DurableTaskClient.Name"/>.</summary>
    public string? TaskHubName { get; set; }

    /// <summary>The connection setting name put into generated URIs (<c>connection=</c>), as Durable Functions does, and
    /// accepted in the <c>connection</c> query parameter. Default null: the DI overload of
    /// <see cref="DurableHttpEndpointRouteBuilderExtensions.MapDurableTaskManagementApi(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, DurableHttpOptions?)"/>
    /// fills in host.json's <c>connectionStringName</c> (else <c>Storage</c>, Durable Functions' default); with an explicit
    /// client it stays out of the URIs.</summary>
    public string? ConnectionName { get; set; }

    /// <summary>
    /// Whether an orchestrator name is registered; starting any other name answers 400 instead of creating an
    /// instance that can only fail. Default null: the DI overload fills it from the SDK registry; with an explicit client
    /// every name is accepted.
    /// </summary>
    public Func<string, bool>? IsOrchestratorRegistered { get; set; }

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
    /// Orchestrators that only the host starts (their input is trusted: e.g. a pipeline run validated by the pipeline API):
    /// starting or restarting one through this API answers 403. Names match case-insensitively, as orchestrator names do.
    /// Default empty.
    /// </summary>
    public ISet<string> InternalOrchestrators { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Largest accepted request body (input or event payload), in bytes. Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;
}
