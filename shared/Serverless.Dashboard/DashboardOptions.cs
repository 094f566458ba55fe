using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Dashboard;

/// <summary>
/// What the dashboard reads and how it is protected. The page itself calls the host's pipeline API (<c>/api/...</c>) and
/// Durable Functions' management API for runs; these stores answer what those APIs do not: node executions, artifacts,
/// lineage, reports and the serving repository's models.
/// </summary>
public sealed class DashboardOptions
{
    /// <summary>The key every dashboard JSON route requires (<c>x-functions-key</c> header or <c>code</c> query), the same key
    /// as the pipeline API. Required: there is no keyless mode. The static page (no data) is served without it.</summary>
    public required string AccessKey { get; init; }

    /// <summary>The metadata (lineage) store the node runner records executions and artifacts in.</summary>
    public required IMetadataStore Metadata { get; init; }

    /// <summary>The artifact store: reports and other artifact files are read from it, only files an artifact's completion
    /// marker lists.</summary>
    public required IBlobStore Artifacts { get; init; }

    /// <summary>The serving repository folder the Pusher writes to (<c>{model}/{version}/model.onnx</c> + <c>_READY</c>).
    /// Default null: the models page shows pushed models from metadata only.</summary>
    public string? ServingRepository { get; init; }

    /// <summary>The route prefix of the pipeline API the page calls. Default <c>/api</c>.</summary>
    public string PipelineApiBase { get; init; } = "/api";

    /// <summary>The route prefix of Durable Functions' management API the page reads run definitions and history from.
    /// Default <c>/runtime/webhooks/durabletask</c>.</summary>
    public string DurableApiBase { get; init; } = "/runtime/webhooks/durabletask";

    /// <summary>The route prefix of the dashboard's own JSON routes the page calls. Default <c>/dashboard/api</c>
    /// (<see cref="DashboardEndpoints.ApiPrefix"/>, where the local host maps them); the Functions app serves them under
    /// <c>/api/dashboard/api</c>.</summary>
    public string DashboardApiBase { get; init; } = DashboardEndpoints.ApiPrefix;

    /// <summary>The route prefix the page loads <c>app.js</c> and <c>app.css</c> from. Default <c>/dashboard</c>.</summary>
    public string AssetBase { get; init; } = "/dashboard";

    /// <summary>Largest artifact file the dashboard serves (reports, JSON). Default 16 MiB; bigger files are listed, not served.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;
}
