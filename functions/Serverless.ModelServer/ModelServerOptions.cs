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

    /// <summary>Request bodies above this size are answered with 413; default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Most rows (instances, examples, columnar batch) one request may carry; more are answered with 413 before any
    /// inference. Default 10,000: every row costs input buffers, tensors and response text (a 1,000,000-row request
    /// grew the process by 570 MB).
    /// </summary>
    public int MaxRequestRows { get; set; } = 10_000;

    /// <summary>Largest response body; a response that would be larger is answered with 413 (send fewer rows). Default 64 MiB.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// When set, every request must carry it (<c>Authorization: Bearer KEY</c> or <c>x-functions-key: KEY</c>) or is
    /// answered with 401; compared in constant time. Default null: no key, as TF Serving (bind to loopback then).
    /// The command line reads it from a file or an environment variable, never from an argument (argument lists are
    /// readable by every local user).
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>Models, labels, polling, version retention and batching.</summary>
    public ServingOptions Serving { get; set; } = new();

    /// <summary>When true only warnings and errors are logged (tests and benchmarks); default false.</summary>
    public bool Quiet { get; set; }
}
