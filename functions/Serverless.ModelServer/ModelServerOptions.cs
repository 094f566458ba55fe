using Serverless.Serving;

namespace Serverless.ModelServer;

/// <summary>Settings of the model server process.</summary>
public sealed class ModelServerOptions
{
    /// <summary>Where Kestrel listens; default <c>http://127.0.0.1:8501</c> (TF Serving's REST port). Port 0 picks a free one.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8501";

    /// <summary>The local model repository directory (used when no store is passed to the host); default <c>$SERVERLESS_HOME/models</c>.</summary>
    public string? RepositoryDirectory { get; set; }

    /// <summary>An Azure Storage connection string; with <see cref="AzureContainer"/> the repository is that blob container instead of a directory.</summary>
    public string? AzureConnectionString { get; set; }

    /// <summary>The blob container holding the repository (with <see cref="AzureConnectionString"/>); default <c>models</c>.</summary>
    public string AzureContainer { get; set; } = "models";

    /// <summary>A name prefix inside the store under which models live; default "" (the root).</summary>
    public string RepositoryPrefix { get; set; } = "";

    /// <summary>Request bodies above this size are answered with 400; default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Models, labels, polling, version retention and batching.</summary>
    public ServingOptions Serving { get; set; } = new();

    /// <summary>When true only warnings and errors are logged (tests and benchmarks); default false.</summary>
    public bool Quiet { get; set; }
}
