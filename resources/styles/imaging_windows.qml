<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- Imaging windows (all windows of a search share its footprint): an outline coloured by the latest
     cloud forecast, and a red dashed edge on top for a window that would replace existing orders. -->
<qgis version="3.22.16-Białowieża" styleCategories="Symbology">
  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
    <rules key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000000}">
      <rule key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000001}" symbol="0" label="Cloud forecast ≤ 20 %" filter="&quot;cloud_forecast&quot; &lt;= 20"/>
      <rule key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000002}" symbol="1" label="Cloud forecast 20–50 %" filter="&quot;cloud_forecast&quot; > 20 AND &quot;cloud_forecast&quot; &lt;= 50"/>
      <rule key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000003}" symbol="2" label="Cloud forecast > 50 %" filter="&quot;cloud_forecast&quot; > 50"/>
      <rule key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000004}" symbol="3" label="No cloud forecast" filter="&quot;cloud_forecast&quot; IS NULL"/>
      <rule key="{4d0c6b7a-0c55-4a57-9b2e-6f1f1a000005}" symbol="4" label="Replaces existing orders" filter="&quot;conflicting_order_count&quot; > 0"/>
    </rules>
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" value="35,139,69,40" type="QString"/>
            <Option name="outline_color" value="35,139,69,255" type="QString"/>
            <Option name="outline_style" value="solid" type="QString"/>
            <Option name="outline_width" value="0.6" type="QString"/>
            <Option name="outline_width_unit" value="MM" type="QString"/>
            <Option name="style" value="solid" type="QString"/>
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" value="254,196,79,40" type="QString"/>
            <Option name="outline_color" value="236,112,20,255" type="QString"/>
            <Option name="outline_style" value="solid" type="QString"/>
            <Option name="outline_width" value="0.6" type="QString"/>
            <Option name="outline_width_unit" value="MM" type="QString"/>
            <Option name="style" value="solid" type="QString"/>
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" value="150,150,150,40" type="QString"/>
            <Option name="outline_color" value="99,99,99,255" type="QString"/>
            <Option name="outline_style" value="solid" type="QString"/>
            <Option name="outline_width" value="0.6" type="QString"/>
            <Option name="outline_width_unit" value="MM" type="QString"/>
            <Option name="style" value="solid" type="QString"/>
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" value="255,255,255,0" type="QString"/>
            <Option name="outline_color" value="37,52,148,255" type="QString"/>
            <Option name="outline_style" value="solid" type="QString"/>
            <Option name="outline_width" value="0.5" type="QString"/>
            <Option name="outline_width_unit" value="MM" type="QString"/>
            <Option name="style" value="no" type="QString"/>
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" pass="0" locked="0" enabled="1">
          <Option type="Map">
            <Option name="color" value="255,255,255,0" type="QString"/>
            <Option name="outline_color" value="203,24,29,255" type="QString"/>
            <Option name="outline_style" value="dash" type="QString"/>
            <Option name="outline_width" value="0.9" type="QString"/>
            <Option name="outline_width_unit" value="MM" type="QString"/>
            <Option name="style" value="no" type="QString"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <blendMode>0</blendMode>
  <featureBlendMode>0</featureBlendMode>
  <layerGeometryType>2</layerGeometryType>
</qgis>
