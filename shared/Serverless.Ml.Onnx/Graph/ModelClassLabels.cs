using System.Text.Json;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Graph;

/// <summary>
/// The class names of a classifier, kept in the ONNX model's metadata under one key, <see cref="MetadataKey"/>:
/// the Trainer writes them here, and the model server (<c>:classify</c> answers names, not indices) and the
/// Evaluator read them here. One key in one place, so writer and readers cannot drift apart again.
/// </summary>
public static class ModelClassLabels
{
    /// <summary>The metadata key: <c>class_labels</c>, holding a JSON array of strings (a comma-separated list is also read).</summary>
    public const string MetadataKey = "class_labels";

    /// <summary>Sets the class names (replacing earlier ones), in the order of the model's class-score output.</summary>
    public static void Write(ModelProto model, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        for (var i = model.MetadataProps.Count - 1; i >= 0; i--)
            if (model.MetadataProps[i].Key == MetadataKey) model.MetadataProps.RemoveAt(i);
        model.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = JsonSerializer.Serialize(labels) });
    }

    /// <summary>The class names, or an empty list when the model has none (then callers use class indices).</summary>
    /// <exception cref="InvalidDataException">The value starts like a JSON array but is not an array of strings.</exception>
    public static IReadOnlyList<string> Read(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var text = model.MetadataProps.LastOrDefault(p => p.Key == MetadataKey)?.Value;
        if (string.IsNullOrWhiteSpace(text)) return [];
        var trimmed = text.Trim();
        if (!trimmed.StartsWith('[')) return trimmed.Split(',', StringSplitOptions.TrimEntries);
        try
        {
            var labels = JsonSerializer.Deserialize<string[]>(trimmed);
            if (labels is null || Array.IndexOf(labels, null) >= 0) throw new JsonException("null is not a class name");
            return labels;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Model metadata '{MetadataKey}' is not a JSON array of strings: {e.Message}", e);
        }
    }
}
