using Serverless.Metadata;
using Serverless.Pipelines;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>A baseline model: where it is, its metadata id, the blessing that blessed it, and its ONNX bytes.</summary>
/// <param name="Uri">The Model artifact's URI.</param>
/// <param name="Id">The Model artifact's metadata id.</param>
/// <param name="BlessingUri">The ModelBlessing that made it the baseline (null for an explicitly bound baseline).</param>
/// <param name="Bytes">The ONNX file.</param>
public sealed record BaselineModel(string Uri, long Id, string? BlessingUri, byte[] Bytes);

/// <summary>
/// TFX's latest-blessed-model resolver over our metadata store: the newest LIVE ModelBlessing of the pipeline (its
/// <c>pipeline</c> context) with <c>blessed</c> = 1, whose blessing and model are still complete in the blob store.
/// </summary>
public static class BaselineResolver
{
    /// <summary>Returns the latest blessed model of <paramref name="pipeline"/>, or null when none was blessed yet.</summary>
    public static async Task<BaselineModel?> FindLatestBlessedAsync(IMetadataStore metadata, IBlobStore blobs, string pipeline, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentException.ThrowIfNullOrEmpty(pipeline);
        var context = await metadata.GetContextAsync(ContextTypes.Pipeline, pipeline, cancellation).ConfigureAwait(false);
        if (context is null)
        {
            return null;
        }

        var blessings = (await metadata.GetArtifactsByContextAsync(context.Id, cancellation).ConfigureAwait(false))
            .Where(a => a.Type == ArtifactTypes.ModelBlessing && a.State == ArtifactState.Live
                && a.CustomProperties.TryGetValue(ShippingProperties.Blessed, out var b) && b.Type == PropertyType.Int && b.IntValue == 1
                && a.CustomProperties.ContainsKey(ShippingProperties.CurrentModel))
            .OrderByDescending(a => a.Id);
        foreach (var blessing in blessings)
        {
            var modelUri = blessing.CustomProperties[ShippingProperties.CurrentModel].StringValue!;
            if (await blobs.GetPropertiesAsync($"{blessing.Uri}/{ArtifactLayout.MarkerName}", cancellation).ConfigureAwait(false) is null
                || await blobs.GetPropertiesAsync($"{modelUri}/{ArtifactLayout.MarkerName}", cancellation).ConfigureAwait(false) is null)
            {
                continue; // deleted or never completed: cannot be a baseline
            }

            var file = $"{modelUri}/{ModelRepository.ModelFileName}";
            if (await blobs.GetPropertiesAsync(file, cancellation).ConfigureAwait(false) is null)
            {
                continue;
            }

            var stream = await blobs.OpenReadAsync(file, cancellation).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellation).ConfigureAwait(false);
                var id = blessing.CustomProperties.TryGetValue(ShippingProperties.CurrentModelId, out var idValue) && idValue.Type == PropertyType.Int ? idValue.IntValue : 0;
                return new BaselineModel(modelUri, id, blessing.Uri, buffer.ToArray());
            }
        }

        return null;
    }
}
