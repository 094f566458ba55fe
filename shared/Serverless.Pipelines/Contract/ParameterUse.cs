namespace Serverless.Pipelines;

/// <summary>
/// What a component parameter is, for security: whether a run request may set it, and which allowed root a
/// location it names must resolve inside. A run request (an HTTP body's <c>parameters</c>, a blob upload, a timer
/// of another operator) is not trusted with executables, folders or documents; the pipeline file on disk and
/// host.json are. The default follows the parameter's type (see <see cref="ParameterSpec.Use"/>).
/// </summary>
public enum ParameterUse
{
    /// <summary>A number, flag, enum or name (e.g. <c>epochs</c>, <c>optimizer</c>, <c>model_name</c>): safe for run
    /// requests. The default of int, double and bool parameters.</summary>
    Value,

    /// <summary>Free text or a document (an inline transform spec, metric thresholds as JSON): an operator setting,
    /// never taken from a run request. The default of string parameters.</summary>
    Text,

    /// <summary>A file or folder the node reads (<see cref="ParameterType.Path"/>): an operator setting that must
    /// resolve inside an input root. Run requests set it only through their data location (<c>data</c>, a blob).</summary>
    InputPath,

    /// <summary>A folder the node reads files from by pattern (ExampleGen's <c>input_base</c>): like <see cref="InputPath"/>;
    /// a data location given as a downloaded file sets it to that file's own folder.</summary>
    InputFolder,

    /// <summary>A folder the node writes models to (the Pusher's destination): an operator setting that must resolve
    /// inside the serving repository root; empty means the host's default.</summary>
    ServingPath,

    /// <summary>A folder the node writes temporary state to (checkpoints): an operator setting that must resolve
    /// inside the scratch root; empty means the host's default.</summary>
    ScratchPath,

    /// <summary>File patterns relative to the node's input folder (e.g. <c>input_pattern</c>): safe for run requests
    /// because they may not be absolute or contain a <c>..</c> segment, so they never leave that folder.</summary>
    RelativePattern,

    /// <summary>A resource limit (a number such as <c>max_record_bytes</c> or <c>max_features</c>): an operator setting,
    /// never taken from a run request, which could otherwise raise the memory or time a run may use.</summary>
    Limit,
}
