namespace Serverless.Pipelines.Components.FileCopy;

/// <summary>
/// An importer: copies a local file or folder (the <c>source</c> path parameter) into an
/// <see cref="ArtifactTypes.Examples"/> artifact, recording the source's location and content fingerprint.
/// The pipeline layer's own stand-in for ExampleGen, so pipelines run before the ML components exist.
/// </summary>
public sealed class FileCopyComponent : Component
{
    /// <summary>The component type name.</summary>
    public const string TypeName = "FileCopy";

    /// <summary>The declaration, shared by every instance.</summary>
    public static ComponentSpec Declaration { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Description = "Copies a local file or folder into an Examples artifact, with the source's fingerprint.",
        Parameters =
        [
            new ParameterSpec("source", ParameterType.Path, Description: "The file or folder to import."),
        ],
        Outputs =
        [
            new ChannelSpec("examples", ArtifactTypes.Examples, Description: "The copied files; properties source_uri, source_fingerprint, file_count, byte_count."),
        ],
    };

    /// <inheritdoc />
    public override ComponentSpec Spec => Declaration;

    /// <inheritdoc />
    public override IComponentExecutor CreateExecutor() => new FileCopyExecutor();
}
