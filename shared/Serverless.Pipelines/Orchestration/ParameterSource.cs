namespace Serverless.Pipelines.Orchestration;

/// <summary>Who gave run parameters, which decides what they may set (see <see cref="ParameterUse"/>).</summary>
public enum ParameterSource
{
    /// <summary>A run request: an HTTP body, a blob upload, the Durable API. Only parameters a component declares safe
    /// (<see cref="ParameterSpec.SafeForRequests"/>: numbers, enums, names, relative patterns) may be set.</summary>
    Request,

    /// <summary>The operator: the CLI's <c>--param</c>, a host.json timer. Any parameter may be set; locations must
    /// still resolve inside the allowed roots.</summary>
    Operator,
}
