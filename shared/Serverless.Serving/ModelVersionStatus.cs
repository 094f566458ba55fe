namespace Serverless.Serving;

/// <summary>A version's life cycle, with TF Serving's names (ModelVersionStatus.State).</summary>
public enum ModelVersionState
{
    /// <summary>Found in the repository, not yet loading.</summary>
    Start = 10,

    /// <summary>Being loaded.</summary>
    Loading = 20,

    /// <summary>Serving requests.</summary>
    Available = 30,

    /// <summary>Being unloaded: new requests go elsewhere, in-flight ones finish.</summary>
    Unloading = 40,

    /// <summary>Unloaded, or failed to load (then <see cref="ModelVersionStatus.ErrorMessage"/> says why).</summary>
    End = 50,
}

/// <summary>One entry of TF Serving's <c>model_version_status</c>.</summary>
/// <param name="Model">The model name.</param>
/// <param name="Version">The version number.</param>
/// <param name="State">The state.</param>
/// <param name="ErrorCode">"OK", or a TF status code name such as "INVALID_ARGUMENT" when loading failed.</param>
/// <param name="ErrorMessage">"" or the reason loading failed.</param>
public sealed record ModelVersionStatus(string Model, long Version, ModelVersionState State, string ErrorCode, string ErrorMessage)
{
    /// <summary>The state's TF Serving name (START, LOADING, AVAILABLE, UNLOADING, END).</summary>
    public string StateName => State.ToString().ToUpperInvariant();
}
