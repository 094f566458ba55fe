namespace Serverless.Ml.Data.Idx;

/// <summary>Options for <see cref="IdxDatasetReader"/>.</summary>
public sealed class IdxDatasetOptions
{
    /// <summary>Name of the image column. Default <c>image</c>.</summary>
    public string ImageColumn { get; set; } = "image";

    /// <summary>Name of the label column. Default <c>label</c>.</summary>
    public string LabelColumn { get; set; } = "label";

    /// <summary>Divide pixel values by this (255 maps uint8 to [0, 1]). Default 1: raw values.</summary>
    public float Scale { get; set; } = 1f;

    /// <summary>Rows per batch. Default 8,192 (a 28x28 float batch is then 25 MB).</summary>
    public int BatchSize { get; set; } = 8_192;
}
